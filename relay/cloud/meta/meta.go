// Package meta keeps, in the cloud, the latest metadata (HELP, TYPE, UNIT)
// of every metric family per (tenant, site) that edges ship for their
// remote_write data, and gives each remote_write batch the metadata of its
// families before it is written to files and /federate.
//
// An edge ships remote_write metadata only when it changes, and its full
// set on each new uplink connection (package edge, metadata.go), so most
// remote_write batches arrive without metadata: the Store is where it is
// found again. Scrapes carry their own metadata and do not pass here.
//
// Order: a value replaces the one held only if the batch carrying it is
// not older (by batch timestamp, the time the edge received it) than the
// batch that carried the one held, so blocks of an older lane drained after
// newer ones never bring back an old HELP.
//
// Bounds: at most MaxSiteFamilies families per (tenant, site) (per tenant
// the cloud's limits.max_metadata_families, through SiteFamilies) and
// MaxFamilies in all. Past either, a new family's metadata is refused,
// counted in edgerelay_cloud_metadata_refused_total (and, by tenant, in
// edgerelay_cloud_refused_metadata_total) and logged; a family
// held is always updated. With a directory, every change is written to
// <dir>/<tenant>/<site>.json (atomically) before Apply returns, and loaded
// by New, so a restarted cloud knows what it knew.
//
// A Store is safe for concurrent use.
package meta

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// Bounds of the store.
const (
	// MaxSiteFamilies is how many families' metadata one (tenant, site)
	// may have held.
	MaxSiteFamilies = 20000
	// MaxFamilies is how many families' metadata are held in all, about
	// 270 bytes of memory each (a 35-character name, a 50-character HELP).
	MaxFamilies = 1_000_000
)

// Config configures a Store. Zero values mean the defaults given per field.
type Config struct {
	// Dir, when set, is where each site's metadata is persisted.
	Dir string
	// MaxSiteFamilies and MaxFamilies; zero means the package constants.
	MaxSiteFamilies, MaxFamilies int
	// SiteFamilies, when set, gives a tenant's MaxSiteFamilies (the
	// cloud's limits.max_metadata_families); a result <= 0 means
	// MaxSiteFamilies.
	SiteFamilies func(tenant string) int
	// Refused, when set, is told of each refusal, by tenant.
	Refused func(tenant string, n int)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer for the store's metrics; nil means none.
	Registerer prometheus.Registerer
}

// Store holds metadata by (tenant, site, family).
type Store struct {
	dir               string
	maxSite, maxTotal int
	siteOf            func(tenant string) int
	refusedBy         func(tenant string, n int)
	log               *slog.Logger

	// mu guards sites, total and loggedAt, and is held exclusively while
	// a change is learnt and persisted; filling a batch holds it shared
	// only to find the site, then the site's own lock.
	mu       sync.RWMutex
	sites    map[siteKey]*site
	total    int
	loggedAt time.Time

	refused prometheus.Counter
	changed prometheus.Counter
}

type siteKey struct{ tenant, site string }

type site struct {
	mu   sync.RWMutex // guards fams; taken after Store.mu
	fams map[string]entry
}

// entry is one family's metadata and the timestamp of the batch that
// carried it.
type entry struct {
	MD relay.Metadata `json:"md"`
	TS int64          `json:"ts"`
}

// New returns a Store, loading what Dir holds.
func New(cfg Config) (*Store, error) {
	s := &Store{dir: cfg.Dir, maxSite: cfg.MaxSiteFamilies, maxTotal: cfg.MaxFamilies, log: cfg.Logger, sites: map[siteKey]*site{},
		siteOf: cfg.SiteFamilies, refusedBy: cfg.Refused}
	if s.maxSite <= 0 {
		s.maxSite = MaxSiteFamilies
	}
	if s.maxTotal <= 0 {
		s.maxTotal = MaxFamilies
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_cloud_metadata_refused_total",
		Help: "Metadata of new metric families refused (not kept) because a site or the cloud holds as many families as it may.",
	})
	s.changed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_cloud_metadata_changes_total",
		Help: "Metadata of metric families learnt from edges: new, or changed.",
	})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.refused, s.changed, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgerelay_cloud_metadata_families",
			Help: "Metric families whose remote_write metadata the cloud holds, over all tenants and sites.",
		}, func() float64 { return float64(s.Families()) }))
	}
	if s.dir != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Families returns how many families' metadata are held in all.
func (s *Store) Families() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.total
}

// Apply learns b.Metadata for (tenant, site), then sets b.Metadata to the
// metadata held of every family b's series belong to (nil if none). It
// returns an error only when a change could not be persisted; b is then
// left as it was, and what was learnt is forgotten again.
func (s *Store) Apply(tenant, siteName string, b *relay.Batch) error {
	k := siteKey{tenant, siteName}
	if len(b.Metadata) > 0 {
		if err := s.learnBatch(k, b); err != nil {
			return err
		}
	}
	b.Metadata = nil
	s.mu.RLock()
	st := s.sites[k]
	s.mu.RUnlock()
	if st == nil {
		return nil
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if len(st.fams) == 0 {
		return nil
	}
	var prev string
	seen := make(map[string]struct{}, 64) // names looked up already
	for i := range b.Series {
		name := b.Series[i].Labels.Get(labels.MetricName)
		if name == prev {
			continue
		}
		prev = name
		if _, ok := seen[name]; ok {
			continue
		}
		seen[name] = struct{}{}
		s.fill(st, name, b)
	}
	return nil
}

// learnBatch learns b.Metadata for k and persists the change.
func (s *Store) learnBatch(k siteKey, b *relay.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.sites[k]
	if st == nil {
		st = &site{fams: map[string]entry{}}
		s.sites[k] = st
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	undo, n := s.learn(k, st, b.Metadata, b.Timestamp)
	if n > 0 && s.dir != "" {
		if err := s.persist(k, st); err != nil {
			s.revert(st, undo)
			return err
		}
	}
	s.changed.Add(float64(n))
	return nil
}

// replaced is what learn replaced of one family, for revert.
type replaced struct {
	e       entry
	existed bool
}

// learn applies md, stamped ts, to st and returns what it replaced and how
// many families changed. The caller holds s.mu and st.mu.
func (s *Store) learn(k siteKey, st *site, md map[string]relay.Metadata, ts int64) (map[string]replaced, int) {
	undo := map[string]replaced{}
	refused := 0
	maxSite := s.maxSite
	if s.siteOf != nil {
		if n := s.siteOf(k.tenant); n > 0 {
			maxSite = n
		}
	}
	for fam, m := range md {
		e, ok := st.fams[fam]
		switch {
		case ok && (e.TS > ts || e.MD == m):
			continue
		case !ok && (len(st.fams) >= maxSite || s.total >= s.maxTotal):
			refused++
			continue
		}
		if !ok {
			s.total++
		}
		undo[fam] = replaced{e, ok}
		// Kept for long: no string may pin the buffer it was decoded from.
		m = relay.Metadata{Type: strings.Clone(m.Type), Help: strings.Clone(m.Help), Unit: strings.Clone(m.Unit)}
		st.fams[strings.Clone(fam)] = entry{MD: m, TS: ts}
	}
	if refused > 0 {
		s.refused.Add(float64(refused))
		if s.refusedBy != nil {
			s.refusedBy(k.tenant, refused)
		}
		if now := time.Now(); now.Sub(s.loggedAt) >= time.Minute {
			s.loggedAt = now
			s.log.Warn("metadata of new metric families refused: the store is full",
				"tenant", k.tenant, "site", k.site, "refused", refused,
				"site_families", len(st.fams), "max_site_families", maxSite, "families", s.total, "max_families", s.maxTotal)
		}
	}
	return undo, len(undo)
}

// revert puts back what learn replaced. The caller holds s.mu and st.mu.
func (s *Store) revert(st *site, undo map[string]replaced) {
	for fam, r := range undo {
		if !r.existed {
			delete(st.fams, fam)
			s.total--
			continue
		}
		st.fams[fam] = r.e
	}
}

// suffixes end the names of series that belong to a family of another
// name: a histogram's or summary's buckets, sum and count, a counter's
// _total (when the family was announced without it), an info's _info and
// the _created series of OpenMetrics.
var suffixes = [...]string{"_bucket", "_sum", "_count", "_total", "_info", "_created"}

// fill adds to b.Metadata what st holds for the series name: under the
// name itself and, for a suffixed name, under its base. The writers pick
// the family from those (expfmt.Family).
func (s *Store) fill(st *site, name string, b *relay.Batch) {
	add := func(fam string) {
		if e, ok := st.fams[fam]; ok {
			if b.Metadata == nil {
				b.Metadata = map[string]relay.Metadata{}
			}
			b.Metadata[fam] = e.MD
		}
	}
	add(name)
	for _, suf := range suffixes {
		if base, ok := strings.CutSuffix(name, suf); ok && base != "" {
			add(base)
		}
	}
}
