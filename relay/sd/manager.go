package sd

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// Manager runs the discovery configs of every job and delivers the
// jobs' target groups, as Prometheus' discovery manager does: it keeps
// each provider's latest group per Source (a group with no targets
// removes its Source), coalesces updates, and sends the whole set, every
// job included (a job with nothing discovered gets an empty list), at
// most once per update interval while updates keep coming and within
// about 100ms after a quiet spell. A provider whose config is unchanged
// by ApplyConfig keeps running and keeps its groups. Safe for concurrent
// use.
type Manager struct {
	log         *slog.Logger
	m           *Metrics
	updateEvery time.Duration
	syncCh      chan map[string][]*targetgroup.Group
	trigger     chan struct{}

	mu        sync.Mutex      // guards below
	ctx       context.Context // Run's, once running
	running   bool
	providers []*runningProvider
	nextID    int

	tmu     sync.Mutex                                         // guards targets
	targets map[*runningProvider]map[string]*targetgroup.Group // by Source
}

// runningProvider is one config of one job, running.
type runningProvider struct {
	job    string
	name   string // mechanism/sequence, for logs
	config Config
	prov   Provider
	cancel context.CancelFunc
	done   chan struct{} // closed when its updater has returned
}

// NewManager builds a Manager that sends at most once per updateEvery
// (Prometheus' scrape discovery uses 5s).
func NewManager(log *slog.Logger, m *Metrics, updateEvery time.Duration) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{log: log, m: m.or(), updateEvery: updateEvery,
		syncCh: make(chan map[string][]*targetgroup.Group), trigger: make(chan struct{}, 1),
		ctx: context.Background(), targets: map[*runningProvider]map[string]*targetgroup.Group{}}
}

// SyncCh delivers every job's target groups; it is closed when Run returns.
func (m *Manager) SyncCh() <-chan map[string][]*targetgroup.Group { return m.syncCh }

// Run sends updates until ctx is done, then stops every provider and
// returns. Providers applied before Run start when it starts.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.ctx, m.running = ctx, true
	for _, p := range m.providers {
		if p.cancel == nil {
			m.start(p)
		}
	}
	m.mu.Unlock()
	m.sender(ctx)
	m.mu.Lock()
	for _, p := range m.providers {
		if p.cancel != nil {
			p.cancel()
			<-p.done
		}
	}
	m.running = false
	m.mu.Unlock()
	close(m.syncCh)
}

// ApplyConfig makes the manager run exactly cfgs (configs by job):
// unchanged configs keep running, removed ones stop and their targets go,
// new ones start. A config whose provider cannot be built is logged and
// counted in prometheus_sd_failed_configs.
func (m *Manager) ApplyConfig(cfgs map[string][]Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var kept, added []*runningProvider
	reuse := map[*runningProvider]bool{}
	failed := 0
	for job, list := range cfgs {
		n := len(kept) + len(added)
		for _, c := range list {
			if p := m.find(job, c, reuse); p != nil {
				reuse[p] = true
				kept = append(kept, p)
				continue
			}
			p, err := m.build(job, c)
			if err != nil {
				m.log.Error("Cannot create service discovery", "err", err, "type", c.Name(), "config", job)
				failed++
				continue
			}
			added = append(added, p)
		}
		if len(kept)+len(added) == n { // the job is sent all the same, with no targets
			if p := m.find(job, StaticConfig{}, reuse); p != nil {
				reuse[p] = true
				kept = append(kept, p)
			} else {
				p, _ := m.build(job, StaticConfig{})
				added = append(added, p)
			}
		}
	}
	m.m.failedConfigs.Set(float64(failed))
	for _, p := range m.providers {
		if !reuse[p] {
			m.stop(p)
		}
	}
	m.providers = append(kept, added...)
	for _, p := range added {
		m.start(p)
	}
	m.triggerSend()
}

// find returns the running provider of job with config c, not yet taken.
func (m *Manager) find(job string, c Config, taken map[*runningProvider]bool) *runningProvider {
	for _, p := range m.providers {
		if p.job == job && !taken[p] && reflect.DeepEqual(p.config, c) {
			return p
		}
	}
	return nil
}

func (m *Manager) build(job string, c Config) (*runningProvider, error) {
	prov, err := c.NewProvider(ProviderOptions{
		Logger: m.log.With("discovery", c.Name(), "config", job), Metrics: m.m, Job: job,
	})
	if err != nil {
		return nil, err
	}
	m.nextID++
	return &runningProvider{job: job, name: fmt.Sprintf("%s/%d", c.Name(), m.nextID), config: c, prov: prov}, nil
}

// start runs p's provider and its updater, once Run has started.
func (m *Manager) start(p *runningProvider) {
	if !m.running {
		return // Run starts it
	}
	ctx, cancel := context.WithCancel(m.ctx)
	p.cancel, p.done = cancel, make(chan struct{})
	up := make(chan []*targetgroup.Group)
	m.log.Debug("Starting provider", "provider", p.name, "job", p.job)
	go p.prov.Run(ctx, up)
	go m.updater(ctx, p, up)
}

// stop cancels p and waits until no update of it can land, then drops its
// targets.
func (m *Manager) stop(p *runningProvider) {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
	m.tmu.Lock()
	delete(m.targets, p)
	m.tmu.Unlock()
	m.m.discoveredTargets.DeleteLabelValues(p.job)
	m.m.lastUpdated.DeleteLabelValues(p.job)
}

// updater keeps p's latest groups until ctx is done.
func (m *Manager) updater(ctx context.Context, p *runningProvider, up <-chan []*targetgroup.Group) {
	defer close(p.done)
	for {
		select {
		case <-ctx.Done():
			return
		case tgs, ok := <-up:
			m.m.receivedUpdates.Inc()
			if !ok {
				m.log.Debug("Discoverer channel closed", "provider", p.name)
				<-ctx.Done()
				return
			}
			m.tmu.Lock()
			set := m.targets[p]
			if set == nil {
				set = map[string]*targetgroup.Group{}
				m.targets[p] = set
			}
			for _, tg := range tgs {
				switch {
				case tg == nil:
				case len(tg.Targets) > 0:
					set[tg.Source] = tg
				default:
					delete(set, tg.Source)
				}
			}
			m.tmu.Unlock()
			m.triggerSend()
		}
	}
}

func (m *Manager) triggerSend() {
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}
