// Package federate keeps the latest sample of every series the cloud
// receives, per tenant, and serves them at /federate the way Prometheus'
// own /federate does, so a central Prometheus can scrape the cloud relay
// with honor_labels: true. The latest sample may be a native histogram;
// those are served in the protobuf format (proto.go).
//
// A series stays served while it is refreshed: one not updated within
// MaxAge (by wall clock, not by sample timestamp) is no longer served and
// is dropped at the next garbage collection, so memory is bounded by the
// live series. A staleness marker (Prometheus' StaleNaN, or a histogram
// whose sum is it) as a series' latest sample removes the series at once. A sample older than the one held is
// not served (the held one is newer) but still counts as a refresh.
//
// The tenant query parameter or the X-Scope-OrgID header narrows a request
// to one tenant's series; it is a filter, not access control: the caller
// decides who may read what and passes the tenant a request is confined to
// to Serve (the cloud takes it from the request's credential). Series are
// expected to carry their tenant label already, so the tenants' series
// never collide.
//
// All methods of Store are safe for concurrent use: updates of different
// tenants do not contend, and serving holds one tenant's lock at a time.
package federate

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// DefaultMaxAge is how long a series is served without a refresh by default.
const DefaultMaxAge = 5 * time.Minute

// Config configures a Store.
type Config struct {
	// MaxAge is how long a series is served after its last update. Zero
	// means DefaultMaxAge (5m).
	MaxAge time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the store's metrics; nil means none.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store holds the latest sample of every live series, by tenant.
type Store struct {
	maxAge int64 // nanoseconds
	now    func() time.Time
	log    *slog.Logger
	parser parser.Parser

	mu      sync.RWMutex // guards tenants; a tenant's content has its own lock
	tenants map[string]*tenant
	series  atomic.Int64

	m metrics
}

// tenant is one tenant's series and metadata.
type tenant struct {
	mu     sync.Mutex
	dead   bool                // removed from Store.tenants; updates must look again
	series map[uint64]*entry   // by labels hash; collisions chain through entry.next
	meta   map[string]metaSeen // by metric family name
	// sources remembers, per scrape target of a site, the entry of each
	// series of its last scrape by position (sources.go).
	sources map[sourceKey]*source
}

type entry struct {
	lset labels.Labels
	t    int64
	v    float64
	x    *extra // the latest native histogram and exemplars, if any
	seen int64  // wall clock of the last update, Unix ns
	next *entry
	gone bool // removed from tenant.series (a source may still point at it)
}

type metaSeen struct {
	md   relay.Metadata
	seen int64
}

// New returns an empty Store.
func New(cfg Config) *Store {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{
		maxAge:  int64(cfg.MaxAge),
		now:     cfg.Now,
		log:     cfg.Logger,
		parser:  parser.NewParser(parser.Options{}),
		tenants: map[string]*tenant{},
	}
	s.m = newMetrics(cfg.Registerer, s)
	return s
}

// Series returns the number of series held, expired ones included until
// they are garbage-collected.
func (s *Store) Series() int { return int(s.series.Load()) }

// Store is the cloud's /federate output.
var _ output.Output = (*Store)(nil)

// Name is "federate".
func (s *Store) Name() string { return "federate" }

// Deliver records the latest sample of every series of d's batches
// (Update); it never fails. A block delivered again changes nothing: an
// older sample than the one held is not served.
func (s *Store) Deliver(_ context.Context, d *output.Delivery) error {
	for _, b := range d.Batches {
		s.updateFrom(d.Tenant, d.Site, b)
	}
	return nil
}

// Update records the latest sample of every series of b for tenant.
func (s *Store) Update(tenant string, b *relay.Batch) { s.updateFrom(tenant, "", b) }

// updateFrom is Update for a batch of site's: a scrape's series are found
// by their position in the target's last scrape (sources.go).
func (s *Store) updateFrom(tenant, site string, b *relay.Batch) {
	now := s.now().UnixNano()
	for {
		tn := s.tenant(tenant)
		tn.mu.Lock()
		if tn.dead {
			tn.mu.Unlock()
			continue
		}
		s.update(tn, tn.source(site, b, now), b, now)
		tn.mu.Unlock()
		return
	}
}

// tenant returns the named tenant, creating it when missing.
func (s *Store) tenant(name string) *tenant {
	s.mu.RLock()
	tn := s.tenants[name]
	s.mu.RUnlock()
	if tn != nil {
		return tn
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tn = s.tenants[name]; tn == nil {
		tn = &tenant{series: map[uint64]*entry{}, meta: map[string]metaSeen{}, sources: map[sourceKey]*source{}}
		s.tenants[name] = tn
	}
	return tn
}

// update applies b to tn; the caller holds tn.mu. src, when not nil,
// holds the entries of the series of b's target's last scrape by
// position, and learns those of b's.
func (s *Store) update(tn *tenant, src *source, b *relay.Batch, now int64) {
	accepted, stale := 0, 0
	for i := range b.Series {
		sr := &b.Series[i]
		last, hist, ok := latest(sr)
		if !ok {
			continue
		}
		e := src.at(i, sr.Labels)
		cached := e != nil
		var h uint64
		var prev *entry
		if !cached {
			h, prev, e = tn.find(sr.Labels)
		}
		switch {
		case hist == nil && value.IsStaleNaN(last.V) || hist != nil && hist.IsStale():
			if e != nil && last.T >= e.t {
				if cached {
					h, prev, _ = tn.find(sr.Labels)
				}
				tn.unlink(h, prev, e)
				s.series.Add(-1)
				stale++
				e = nil
			}
		case e == nil:
			// The label set is kept as given, not copied: a Delivery is
			// never changed (package output), and the receive path gives
			// a steady series the same label set every scrape, so the
			// store and the cloud's delta bases hold it once.
			e = &entry{lset: sr.Labels, t: last.T, v: last.V, x: extraOf(hist, sr), seen: now, next: tn.series[h]}
			tn.series[h] = e
			s.series.Add(1)
			accepted++
		default:
			if last.T >= e.t {
				e.t, e.v, e.x = last.T, last.V, extraOf(hist, sr)
				accepted++
			}
			e.seen = now
		}
		src.set(i, e)
	}
	for name, md := range b.Metadata {
		tn.meta[name] = metaSeen{md: md, seen: now}
	}
	s.m.samples.Add(float64(accepted))
	if stale > 0 {
		s.m.stale.Add(float64(stale))
	}
}

// find returns the hash of ls, the entry of ls (nil when none) and the
// entry before it under that hash (nil when it is the first).
func (tn *tenant) find(ls labels.Labels) (h uint64, prev, e *entry) {
	h = ls.Hash()
	e = tn.series[h]
	for e != nil && !labels.Equal(e.lset, ls) {
		prev, e = e, e.next
	}
	return h, prev, e
}

// unlink removes e, found under hash h after prev, from tn.
func (tn *tenant) unlink(h uint64, prev, e *entry) {
	e.gone = true
	switch {
	case prev != nil:
		prev.next = e.next
	case e.next != nil:
		tn.series[h] = e.next
	default:
		delete(tn.series, h)
	}
}

// Run garbage-collects expired series every MaxAge/4 (between 1s and 1m)
// until ctx is done, then returns nil.
func (s *Store) Run(ctx context.Context) error {
	every := min(max(time.Duration(s.maxAge)/4, time.Second), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.GC()
		}
	}
}

// GC drops series and metadata not updated within MaxAge, and tenants left
// empty. It returns the number of series dropped.
func (s *Store) GC() int {
	cutoff := s.now().UnixNano() - s.maxAge
	s.mu.RLock()
	tns := make([]*tenant, 0, len(s.tenants))
	for _, tn := range s.tenants {
		tns = append(tns, tn)
	}
	s.mu.RUnlock()
	dropped, empty := 0, false
	for _, tn := range tns {
		tn.mu.Lock()
		for h, e := range tn.series {
			var prev *entry
			for e != nil {
				next := e.next
				if e.seen < cutoff {
					tn.unlink(h, prev, e)
					dropped++
				} else {
					prev = e
				}
				e = next
			}
		}
		for name, m := range tn.meta {
			if m.seen < cutoff {
				delete(tn.meta, name)
			}
		}
		for k, src := range tn.sources {
			if src.seen < cutoff {
				delete(tn.sources, k)
			}
		}
		empty = empty || len(tn.series) == 0 && len(tn.meta) == 0 && len(tn.sources) == 0
		tn.mu.Unlock()
	}
	s.series.Add(int64(-dropped))
	s.m.expired.Add(float64(dropped))
	if empty {
		s.dropEmptyTenants()
	}
	return dropped
}

// dropEmptyTenants removes tenants that hold nothing.
func (s *Store) dropEmptyTenants() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, tn := range s.tenants {
		tn.mu.Lock()
		if len(tn.series) == 0 && len(tn.meta) == 0 && len(tn.sources) == 0 {
			tn.dead = true
			delete(s.tenants, name)
		}
		tn.mu.Unlock()
	}
}
