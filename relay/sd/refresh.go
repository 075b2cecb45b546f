package sd

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// refresher runs a discovery that asks for its whole target list every
// interval (http, dns), as Prometheus' refresh discovery does: the first
// refresh at once, a failed one logged and counted
// (prometheus_sd_refresh_failures_total) and sending nothing, so that the
// groups last sent stay.
type refresher struct {
	mech     string // mechanism label: "http", "dns"
	job      string
	interval time.Duration
	log      *slog.Logger
	m        *Metrics
	refresh  func(context.Context) ([]*targetgroup.Group, error)
}

// Run implements Provider.
func (r *refresher) Run(ctx context.Context, up chan<- []*targetgroup.Group) {
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		if tgs, ok := r.once(ctx); ok {
			select {
			case up <- tgs:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
	}
}

func (r *refresher) once(ctx context.Context) ([]*targetgroup.Group, bool) {
	start := time.Now()
	tgs, err := r.refresh(ctx)
	took := time.Since(start).Seconds()
	r.m.refreshDuration.WithLabelValues(r.mech, r.job).Observe(took)
	r.m.refreshHist.WithLabelValues(r.mech).Observe(took)
	if err != nil {
		r.m.refreshFailures.WithLabelValues(r.mech, r.job).Inc()
		if !errors.Is(ctx.Err(), context.Canceled) {
			r.log.Error("Unable to refresh target groups", "err", err.Error())
		}
		return nil, false
	}
	return tgs, true
}
