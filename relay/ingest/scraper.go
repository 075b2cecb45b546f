package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/file" // file_sd_configs; static_configs is built in.
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/scrape"

	"github.com/edgerelay/edgerelay/relay"
)

// discoveryInterval is how often target changes reach the scrape manager;
// with it the first scrape happens about a second after Run starts.
const discoveryInterval = time.Second

// ScrapeConfig configures NewScraper.
type ScrapeConfig struct {
	// Configs are scrape configs as config.Load validated them (job names
	// unique, globals applied). May be empty.
	Configs []*promconfig.ScrapeConfig
	// Logger; nil discards logs.
	Logger *slog.Logger
	// Registerer for edgerelay_ingested_samples_total{source="scrape"},
	// edgerelay_scrape_rejected_samples_total{reason}, and Prometheus' own
	// scrape and discovery metrics, prefixed edgerelay_ (e.g.
	// edgerelay_prometheus_target_scrapes_sample_out_of_order_total).
	// Nil registers nothing.
	Registerer prometheus.Registerer
	// ReuseBatches promises that the sink keeps no reference to a scrape
	// batch's Series slice, or to the Samples of its series, once Submit
	// has returned nil: the scraper then fills the same memory with the
	// target's next scrape instead of allocating it again. (Label sets,
	// histograms, exemplars and Metadata are never reused.)
	ReuseBatches bool
	// Shard, when set, narrows the targets to this edge's share of
	// targets shared with other edges; nil scrapes them all.
	Shard Shard
}

// Scraper discovers targets with Prometheus' discovery manager
// (static_configs, file_sd_configs, and those relay/config registers:
// http_sd_configs, dns_sd_configs; in the full build kubernetes_sd_configs
// and consul_sd_configs) and scrapes them with the edge's
// own scrape loop (loopManager), or, for a job using an option that loop
// does not implement (ownLoopRefusal), with Prometheus' scrape manager;
// either way it submits one Batch per scrape.
type Scraper struct {
	log   *slog.Logger
	sm    *scrape.Manager
	dm    *discovery.Manager
	own   *loopManager
	shard *shardState

	dmCancel context.CancelFunc
	promCh   chan map[string][]*targetgroup.Group // target sets of the scrape manager's jobs
	stopCh   chan struct{}                        // closed when Run stops

	mu      sync.Mutex // guards below
	cfg     *promconfig.Config
	state   int                             // stateNew, stateRunning, stateDone
	ownJobs map[string]bool                 // jobs the own loop runs
	tsets   map[string][]*targetgroup.Group // the last target sets discovered
}

const (
	stateNew = iota
	stateRunning
	stateDone
)

// NewScraper builds a Scraper submitting to sink. Nothing runs until Run.
func NewScraper(sink Sink, cfg ScrapeConfig) (*Scraper, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // Prometheus' managers need one; nobody reads it.
	}
	ingested, err := registerCounterVec(reg, ingestedSamplesOpts, "source")
	if err != nil {
		return nil, err
	}
	rejected, err := registerCounterVec(reg, prometheus.CounterOpts{
		Name: "edgerelay_scrape_rejected_samples_total",
		Help: "Scraped samples not taken, by reason: submit_failed (the queue did not take the scrape).",
	}, "reason")
	if err != nil {
		return nil, err
	}
	app := &appendable{sink: sink, reuse: cfg.ReuseBatches, ingested: ingested.WithLabelValues(sourceScrape), rejected: rejected}

	promReg := prometheus.WrapRegistererWithPrefix("edgerelay_", reg)
	sm, err := scrape.NewManager(scrapeOptions(), log.With("component", "scrape manager"), nil, nil, app, promReg)
	if err != nil {
		return nil, fmt.Errorf("create scrape manager: %w", err)
	}
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(promReg)
	if err != nil {
		return nil, fmt.Errorf("create discovery metrics: %w", err)
	}
	dmCtx, dmCancel := context.WithCancel(context.Background())
	dm := discovery.NewManager(dmCtx, log.With("component", "discovery manager"), promReg, sdMetrics,
		discovery.Name("scrape"), discovery.Updatert(discoveryInterval))
	if dm == nil {
		dmCancel()
		return nil, errors.New("create discovery manager: registering its metrics failed")
	}
	lm, err := newLoopMetrics(promReg, app.ingested, rejected)
	if err != nil {
		dmCancel()
		return nil, err
	}
	pc, err := buildConfig(cfg.Configs, log)
	if err != nil {
		dmCancel()
		return nil, err
	}
	shard := &shardState{shard: cfg.Shard}
	own := &loopManager{sink: sink, log: log.With("component", "scrape loop"), metrics: lm, reuse: cfg.ReuseBatches, shard: shard}
	return &Scraper{log: log, sm: sm, dm: dm, own: own, shard: shard, dmCancel: dmCancel, cfg: pc,
		promCh: make(chan map[string][]*targetgroup.Group), stopCh: make(chan struct{})}, nil
}

// scrapeOptions are the options of the scrape manager; ParseScrape parses
// as they make the scrape loop parse.
func scrapeOptions() *scrape.Options {
	return &scrape.Options{
		AppendMetadata:           true, // HELP/TYPE/UNIT with every sample
		PassMetadataInContext:    true, // the target in the appender's context
		DiscoveryReloadInterval:  model.Duration(discoveryInterval),
		DiscoveryReloadOnStartup: true,
	}
}

// Run discovers and scrapes targets until ctx is done, then stops every
// scrape (an in-flight Submit sees its context cancelled) and returns nil.
// It returns an error if the configuration cannot be applied. Run runs once.
func (s *Scraper) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return errors.New("scraper: Run called twice")
	}
	s.state = stateRunning
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.sm.Run(s.promCh) }) // before apply, which may hand it targets
	err := s.apply(s.cfg)
	s.mu.Unlock()

	wg.Go(func() { _ = s.dm.Run() })
	wg.Go(s.fanOut)
	if err == nil {
		<-ctx.Done()
	}

	s.mu.Lock()
	s.state = stateDone
	s.mu.Unlock()
	start := time.Now()
	close(s.stopCh)
	s.dmCancel()
	s.own.stop()
	s.sm.Stop()
	wg.Wait()
	s.log.Debug("scraper stopped", "took", time.Since(start))
	return err
}

// ApplyConfig replaces the scrape configs: new jobs start, removed ones
// stop (their series get stale markers), changed ones restart. Before Run it
// only stores them; after Run it returns relay.ErrClosed.
func (s *Scraper) ApplyConfig(cfgs []*promconfig.ScrapeConfig) error {
	pc, err := buildConfig(cfgs, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateDone:
		return fmt.Errorf("apply scrape configs: %w", relay.ErrClosed)
	case stateNew:
		s.cfg = pc
		return nil
	}
	if err := s.apply(pc); err != nil {
		return err
	}
	s.cfg = pc
	return nil
}

// apply splits pc's jobs between the own loop and the scrape manager,
// hands each its jobs, then gives discovery every job, as Prometheus
// does, so that targets never arrive for a job no one runs; the targets
// last discovered go to the jobs' new owners at once. Called with s.mu
// held.
func (s *Scraper) apply(pc *promconfig.Config) error {
	var ownCfgs, promCfgs []*promconfig.ScrapeConfig
	ownJobs := map[string]bool{}
	for _, c := range pc.ScrapeConfigs {
		if why := ownLoopRefusal(c); why != "" {
			s.log.Info("scrape job runs on Prometheus' scrape manager", "job", c.JobName, "because", why)
			promCfgs = append(promCfgs, c)
			continue
		}
		ownJobs[c.JobName] = true
		ownCfgs = append(ownCfgs, c)
	}
	promPC := *pc
	promPC.ScrapeConfigs = promCfgs
	if err := s.sm.ApplyConfig(&promPC); err != nil {
		return fmt.Errorf("apply scrape configs: %w", err)
	}
	s.own.apply(ownCfgs)
	s.ownJobs = ownJobs
	jobs := map[string]bool{}
	for _, c := range pc.ScrapeConfigs {
		jobs[c.JobName] = true
	}
	s.shard.forget(jobs)
	sd := make(map[string]discovery.Configs, len(pc.ScrapeConfigs))
	for _, c := range pc.ScrapeConfigs {
		sd[c.JobName] = c.ServiceDiscoveryConfigs
	}
	if err := s.dm.ApplyConfig(sd); err != nil {
		return fmt.Errorf("apply service discovery configs: %w", err)
	}
	if s.tsets != nil {
		s.route(pc, s.tsets)
	}
	return nil
}

// fanOut hands what discovery finds to the jobs' owners until Run stops.
func (s *Scraper) fanOut() {
	for {
		select {
		case <-s.stopCh:
			return
		case ts := <-s.dm.SyncCh():
			s.mu.Lock()
			if s.state == stateRunning {
				s.tsets = ts
				s.route(s.cfg, ts)
			}
			s.mu.Unlock()
		}
	}
}

// route gives the own loop its jobs' target sets and the scrape manager
// the rest (of pc's jobs; with a Shard, narrowed to this edge's share).
// Called with s.mu held.
func (s *Scraper) route(pc *promconfig.Config, ts map[string][]*targetgroup.Group) {
	own := map[string][]*targetgroup.Group{}
	prom := map[string][]*targetgroup.Group{}
	for job, groups := range ts {
		if s.ownJobs[job] {
			own[job] = groups
		} else {
			prom[job] = s.shard.filterGroups(jobConfig(pc, job), groups)
		}
	}
	s.own.sync(own)
	select {
	case s.promCh <- prom:
	case <-s.stopCh:
	}
}

// jobConfig is pc's scrape config of job, nil if none.
func jobConfig(pc *promconfig.Config, job string) *promconfig.ScrapeConfig {
	for _, c := range pc.ScrapeConfigs {
		if c.JobName == job {
			return c
		}
	}
	return nil
}

// Reshard asks the Shard again about every target last discovered, after
// its share changed (an edge joined or left): targets it gained start,
// those it lost stop. A no-op before Run and after it returned.
func (s *Scraper) Reshard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateRunning && s.tsets != nil {
		s.route(s.cfg, s.tsets)
	}
}

// ShardCounts returns the targets of the running jobs this scraper
// scrapes and those its Shard leaves to others; zero without a Shard.
func (s *Scraper) ShardCounts() ShardCounts { return s.shard.counts() }

// buildConfig wraps scrape configs in the loaded Config the scrape manager
// requires.
func buildConfig(cfgs []*promconfig.ScrapeConfig, log *slog.Logger) (*promconfig.Config, error) {
	seen := make(map[string]bool, len(cfgs))
	for i, c := range cfgs {
		if c == nil {
			return nil, fmt.Errorf("scrape_configs[%d]: empty", i)
		}
		if c.JobName == "" {
			return nil, fmt.Errorf("scrape_configs[%d]: job_name is empty", i)
		}
		if seen[c.JobName] {
			return nil, fmt.Errorf("scrape_configs[%d]: job_name %q appears twice", i, c.JobName)
		}
		seen[c.JobName] = true
	}
	pc, err := promconfig.Load("", log)
	if err != nil {
		return nil, fmt.Errorf("build scrape manager config: %w", err)
	}
	pc.ScrapeConfigs = cfgs
	return pc, nil
}
