package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/discovery/targetgroup"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/sd"
)

// discoveryInterval is how often target changes reach the scrape loops;
// with it the first scrape happens about a second after Run starts.
const discoveryInterval = time.Second

// ScrapeConfig configures NewScraper.
type ScrapeConfig struct {
	// Configs are scrape configs as config.Load validated them (job names
	// unique, globals applied). May be empty.
	Configs []*scrapeconf.ScrapeConfig
	// Logger; nil discards logs.
	Logger *slog.Logger
	// Registerer for edgerelay_ingested_samples_total{source="scrape"},
	// edgerelay_scrape_rejected_samples_total{reason}, and the scrape and
	// discovery metrics Prometheus has, under its names prefixed edgerelay_
	// (e.g. edgerelay_prometheus_target_scrapes_exceeded_sample_limit_total,
	// edgerelay_prometheus_sd_discovered_targets).
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

// Scraper discovers targets with package sd (static_configs,
// file_sd_configs, http_sd_configs, dns_sd_configs; in the full build
// kubernetes_sd_configs and consul_sd_configs) and scrapes them with the
// edge's own scrape loop (loopManager), submitting one Batch per scrape.
type Scraper struct {
	log   *slog.Logger
	dm    *sd.Manager
	own   *loopManager
	shard *shardState

	stopCh chan struct{} // closed when Run stops

	mu    sync.Mutex // guards below
	cfg   *jobConfigs
	state int                             // stateNew, stateRunning, stateDone
	tsets map[string][]*targetgroup.Group // the last target sets discovered
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
		reg = prometheus.NewRegistry() // nobody reads it
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
	promReg := prometheus.WrapRegistererWithPrefix("edgerelay_", reg)
	sdMetrics, err := sd.NewMetrics(promReg)
	if err != nil {
		return nil, fmt.Errorf("create discovery metrics: %w", err)
	}
	lm, err := newLoopMetrics(promReg, ingested.WithLabelValues(sourceScrape), rejected)
	if err != nil {
		return nil, err
	}
	jc, err := buildConfig(cfg.Configs)
	if err != nil {
		return nil, err
	}
	shard := &shardState{shard: cfg.Shard}
	own := &loopManager{sink: sink, log: log.With("component", "scrape loop"), metrics: lm, reuse: cfg.ReuseBatches, shard: shard}
	dm := sd.NewManager(log.With("component", "discovery manager"), sdMetrics, discoveryInterval)
	return &Scraper{log: log, dm: dm, own: own, shard: shard, cfg: jc, stopCh: make(chan struct{})}, nil
}

// Run discovers and scrapes targets until ctx is done, then stops every
// scrape (an in-flight Submit sees its context cancelled) and returns nil.
// Run runs once.
func (s *Scraper) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return errors.New("scraper: Run called twice")
	}
	s.state = stateRunning
	s.apply(s.cfg)
	s.mu.Unlock()

	dmCtx, dmCancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.dm.Run(dmCtx) })
	wg.Go(s.fanOut)
	<-ctx.Done()

	s.mu.Lock()
	s.state = stateDone
	s.mu.Unlock()
	start := time.Now()
	close(s.stopCh)
	dmCancel()
	s.own.stop()
	wg.Wait()
	s.log.Debug("scraper stopped", "took", time.Since(start))
	return nil
}

// ApplyConfig replaces the scrape configs: new jobs start, removed ones
// stop (their series get stale markers), changed ones restart. Before Run it
// only stores them; after Run it returns relay.ErrClosed.
func (s *Scraper) ApplyConfig(cfgs []*scrapeconf.ScrapeConfig) error {
	jc, err := buildConfig(cfgs)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateDone:
		return fmt.Errorf("apply scrape configs: %w", relay.ErrClosed)
	case stateNew:
		s.cfg = jc
		return nil
	}
	s.apply(jc)
	s.cfg = jc
	return nil
}

// apply hands the loops their jobs, then gives discovery every job, as
// Prometheus does, so that targets never arrive for a job no one runs;
// the targets last discovered go to the jobs at once. Called with s.mu
// held.
func (s *Scraper) apply(jc *jobConfigs) {
	s.own.apply(jc.scrape)
	jobs := map[string]bool{}
	for job := range jc.sd {
		jobs[job] = true
	}
	s.shard.forget(jobs)
	s.dm.ApplyConfig(jc.sd)
	if s.tsets != nil {
		s.own.sync(s.tsets)
	}
}

// fanOut hands what discovery finds to the loops until Run stops.
func (s *Scraper) fanOut() {
	for {
		select {
		case <-s.stopCh:
			return
		case ts, ok := <-s.dm.SyncCh():
			if !ok {
				return
			}
			s.mu.Lock()
			if s.state == stateRunning {
				s.tsets = ts
				s.own.sync(ts)
			}
			s.mu.Unlock()
		}
	}
}

// Reshard asks the Shard again about every target last discovered, after
// its share changed (an edge joined or left): targets it gained start,
// those it lost stop. A no-op before Run and after it returned.
func (s *Scraper) Reshard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateRunning && s.tsets != nil {
		s.own.sync(s.tsets)
	}
}

// ShardCounts returns the targets of the running jobs this scraper
// scrapes and those its Shard leaves to others; zero without a Shard.
func (s *Scraper) ShardCounts() ShardCounts { return s.shard.counts() }

// jobConfigs are checked scrape configs and their discovery configs by job.
type jobConfigs struct {
	scrape []*scrapeconf.ScrapeConfig
	sd     map[string][]sd.Config
}

// buildConfig checks scrape configs (present, named, names unique, every
// key implemented) and builds their discovery configs.
func buildConfig(cfgs []*scrapeconf.ScrapeConfig) (*jobConfigs, error) {
	jc := &jobConfigs{scrape: cfgs, sd: make(map[string][]sd.Config, len(cfgs))}
	for i, c := range cfgs {
		if c == nil {
			return nil, fmt.Errorf("scrape_configs[%d]: empty", i)
		}
		if c.JobName == "" {
			return nil, fmt.Errorf("scrape_configs[%d]: job_name is empty", i)
		}
		if _, ok := jc.sd[c.JobName]; ok {
			return nil, fmt.Errorf("scrape_configs[%d]: job_name %q appears twice", i, c.JobName)
		}
		if c.ScrapeFailureLogFile != "" {
			return nil, fmt.Errorf("scrape_configs[%d] (job %q): scrape_failure_log_file is not supported by edgerelay", i, c.JobName)
		}
		jc.sd[c.JobName] = c.Configs()
	}
	return jc, nil
}
