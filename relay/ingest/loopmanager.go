package ingest

import (
	"log/slog"
	"reflect"
	"sync"

	"github.com/prometheus/prometheus/discovery/targetgroup"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// loopManager runs the scrape jobs: a loopPool per job, given its targets
// by the Scraper from the discovery manager. Safe for concurrent use.
type loopManager struct {
	sink    Sink
	log     *slog.Logger
	metrics *loopMetrics
	reuse   bool
	shard   *shardState // nil: every target is scraped

	mu      sync.Mutex
	pools   map[string]*loopPool
	stopped bool
}

// apply makes the manager run exactly the jobs cfgs: new jobs start (with
// no targets until sync), removed ones stop, changed ones reload. A job
// whose HTTP client cannot be built is logged and not run, as Prometheus
// does (check-config refuses such a job first).
func (m *loopManager) apply(cfgs []*scrapeconf.ScrapeConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	if m.pools == nil {
		m.pools = map[string]*loopPool{}
	}
	want := make(map[string]*scrapeconf.ScrapeConfig, len(cfgs))
	for _, c := range cfgs {
		want[c.JobName] = c
	}
	var wg sync.WaitGroup
	for job, p := range m.pools {
		c, ok := want[job]
		switch {
		case !ok:
			wg.Go(p.stop)
			delete(m.pools, job)
		case !reflect.DeepEqual(p.cfg, c):
			if err := p.reload(c); err != nil {
				m.log.Error("error reloading scrape pool", "err", err, "scrape_pool", job)
			}
		}
	}
	for job, c := range want {
		if _, ok := m.pools[job]; ok {
			continue
		}
		p, err := newLoopPool(m, c)
		if err != nil {
			m.log.Error("error creating new scrape pool", "err", err, "scrape_pool", job)
			continue
		}
		m.pools[job] = p
	}
	wg.Wait()
}

// sync gives each job its target groups; jobs absent from tsets keep
// theirs.
func (m *loopManager) sync(tsets map[string][]*targetgroup.Group) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	for job, groups := range tsets {
		if p := m.pools[job]; p != nil {
			p.sync(groups)
		}
	}
}

// stop ends every job; no end-of-run staleness markers are written.
func (m *loopManager) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	var wg sync.WaitGroup
	for _, p := range m.pools {
		wg.Go(p.stop)
	}
	wg.Wait()
	m.pools = nil
}
