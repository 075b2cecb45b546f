package edge

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// refusedAtCloud counts the samples the cloud acknowledged but refused by
// a tenant limit or label check (it says so in the block's ACK, protocol
// version 4), and logs them at most once a minute: the edge's operator
// sees the refusal without reading the cloud's metrics. Which limit is
// named in the cloud's edgerelay_cloud_refused_samples_total{reason} and
// log.
type refusedAtCloud struct {
	n    prometheus.Counter
	log  *slog.Logger
	mu   sync.Mutex
	last time.Time
	sum  uint64 // since the last log line
}

func newRefusedAtCloud(reg prometheus.Registerer, log *slog.Logger) *refusedAtCloud {
	r := &refusedAtCloud{log: log, n: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_uplink_refused_samples_total",
		Help: "Samples of blocks the cloud acknowledged but refused by a tenant limit or label check (series limit, label length, ...); the cloud counts them by reason in edgerelay_cloud_refused_samples_total.",
	})}
	reg.MustRegister(r.n)
	return r
}

func (r *refusedAtCloud) add(n uint64) {
	r.n.Add(float64(n))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum += n
	if now := time.Now(); now.Sub(r.last) >= time.Minute {
		r.log.Warn("the cloud refused samples by a tenant limit (series limit, label checks); they are not stored anywhere. The cloud's edgerelay_cloud_refused_samples_total and log name the reason",
			"samples", r.sum)
		r.last, r.sum = now, 0
	}
}
