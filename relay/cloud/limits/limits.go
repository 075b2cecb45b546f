// Package limits bounds, per tenant, what edges can make the cloud hold or
// do, and counts every refusal by tenant and reason.
//
// Admit checks each series of a batch before the cloud writes it anywhere:
// invalid label names or values (Prometheus' UTF-8 validation, no empty
// __name__, no duplicate names), too many labels, too long a name or value,
// and a new series past the tenant's active series limit are removed from
// the batch, their samples counted in
// edgerelay_cloud_refused_samples_total{tenant,reason} and logged at most
// once a minute per (tenant, site, reason). Metadata longer than the limit
// is removed the same way. This is Mimir's model (samples discarded at the
// receiver, counted per tenant and reason): the edge's block is
// acknowledged, so a series explosion never wedges the edge's queue, and
// what the cloud kept is carried exactly.
//
// Throttle delays a block's acknowledgement while the tenant is over its
// samples or bytes per second: the edge's connection reads nothing more
// meanwhile (QUIC flow control), so the edge's queue holds the rest and
// nothing is dropped for rate.
//
// Active series are those seen within SeriesIdle; the tracker holds one
// 64-bit hash per active series, so it is bounded by max_series. The hash
// is keyed with a seed drawn at start (hash/maphash), so an edge cannot
// craft new series that collide with active ones to pass the limit.
//
// A Limiter is safe for concurrent use; each tenant has its own lock.
package limits

import (
	"context"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
)

// Reasons a series, its samples or metadata are refused.
const (
	ReasonSeriesLimit      = "per_tenant_series_limit"
	ReasonMissingName      = "missing_metric_name"
	ReasonInvalidName      = "invalid_label_name"
	ReasonInvalidValue     = "invalid_label_value"
	ReasonDuplicateLabel   = "duplicate_label_names"
	ReasonTooManyLabels    = "max_labels_per_series"
	ReasonNameTooLong      = "label_name_too_long"
	ReasonValueTooLong     = "label_value_too_long"
	ReasonMetadataTooLong  = "metadata_too_long"
	ReasonMetadataFamilies = "max_metadata_families"
)

// Config configures a Limiter.
type Config struct {
	// Of returns a tenant's limits (config.Cloud.TenantLimits).
	Of func(tenant string) config.Limits
	// Tenants are the configured tenants, whose limits are exported even
	// before they send anything.
	Tenants []string
	// SeriesIdle is how long a series stays active without a sample
	// (the cloud uses federate.max_age). Zero means 5m.
	SeriesIdle time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limiter applies the limits of every tenant.
type Limiter struct {
	of    func(string) config.Limits
	seed  maphash.Seed // keys the series tracker: edges cannot make series collide
	idle  int64
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	log   *slog.Logger

	mu      sync.Mutex
	tenants map[string]*tenant
	known   []string

	refusedSamples  *prometheus.CounterVec
	refusedMetadata *prometheus.CounterVec
	throttled       *prometheus.CounterVec
}

// tenant is one tenant's state.
type tenant struct {
	mu      sync.Mutex
	series  map[uint64]int64 // active series: keyed labels hash → last seen, Unix ns
	gen     uint64           // bumped when series is cleared: every Memo's stamps go stale
	buf     []byte           // a series' labels, encoded to hash them
	swept   int64
	samples bucket
	bytes   bucket
	logged  map[string]int64 // site + reason → last log, Unix ns
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	if cfg.SeriesIdle <= 0 {
		cfg.SeriesIdle = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	l := &Limiter{
		of: cfg.Of, seed: maphash.MakeSeed(), idle: int64(cfg.SeriesIdle), now: cfg.Now, sleep: cfg.Sleep, log: cfg.Logger,
		tenants: map[string]*tenant{}, known: append([]string(nil), cfg.Tenants...),
	}
	l.refusedSamples = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_refused_samples_total",
		Help: "Samples (float and native histogram) refused at the cloud by a tenant limit or label check, by tenant and reason; the edge's block is acknowledged, these samples are not written anywhere.",
	}, []string{"tenant", "reason"})
	l.refusedMetadata = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_refused_metadata_total",
		Help: "Metric family metadata refused at the cloud by a tenant limit, by tenant and reason.",
	}, []string{"tenant", "reason"})
	l.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_throttled_seconds_total",
		Help: "Time acknowledgements to a tenant's edges were delayed because the tenant was over a rate limit, by tenant and limit.",
	}, []string{"tenant", "limit"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(l.refusedSamples, l.refusedMetadata, l.throttled, (*collector)(l))
	}
	return l
}

// Reloaded takes a reloaded configuration: tenants are the configured
// tenants now, and the limits Config.Of returns may have changed. Every
// active series is checked again against them at its next sample, and
// counts toward max_series again from then (rate buckets carry on).
func (l *Limiter) Reloaded(tenants []string) {
	l.mu.Lock()
	l.known = append([]string(nil), tenants...)
	all := make([]*tenant, 0, len(l.tenants))
	for _, tn := range l.tenants {
		all = append(all, tn)
	}
	l.mu.Unlock()
	for _, tn := range all {
		tn.mu.Lock()
		clear(tn.series)
		tn.gen++
		tn.mu.Unlock()
	}
}

// Limits returns tenant's limits.
func (l *Limiter) Limits(tenant string) config.Limits { return l.of(tenant) }

// tenant returns the named tenant's state, creating it when missing.
func (l *Limiter) tenant(name string) *tenant {
	l.mu.Lock()
	defer l.mu.Unlock()
	tn := l.tenants[name]
	if tn == nil {
		tn = &tenant{series: map[uint64]int64{}, logged: map[string]int64{}}
		l.tenants[name] = tn
	}
	return tn
}

// ActiveSeries returns tenant's active series, as the series limit counts
// them.
func (l *Limiter) ActiveSeries(tenant string) int {
	tn := l.tenant(tenant)
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return len(tn.series)
}

// Tenants returns the tenants configured or seen, for the status page.
func (l *Limiter) Tenants() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, t := range l.known {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for t := range l.tenants {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// RefusedMetadata counts n families' metadata of tenant refused for reason
// (the metadata store's own bound reports here).
func (l *Limiter) RefusedMetadata(tenant, reason string, n int) {
	l.refusedMetadata.WithLabelValues(tenant, reason).Add(float64(n))
}

// RefusedSamples returns the counter of tenant's samples refused for
// reason.
func (l *Limiter) RefusedSamples(tenant, reason string) prometheus.Counter {
	return l.refusedSamples.WithLabelValues(tenant, reason)
}
