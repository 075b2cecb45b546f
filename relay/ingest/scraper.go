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
}

// Scraper scrapes targets with Prometheus' scrape and discovery managers
// (static_configs and file_sd_configs) and submits one Batch per scrape.
type Scraper struct {
	log *slog.Logger
	sm  *scrape.Manager
	dm  *discovery.Manager

	dmCancel context.CancelFunc

	mu    sync.Mutex // guards below
	cfg   *promconfig.Config
	state int // stateNew, stateRunning, stateDone
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
	pc, err := buildConfig(cfg.Configs, log)
	if err != nil {
		dmCancel()
		return nil, err
	}
	return &Scraper{log: log, sm: sm, dm: dm, dmCancel: dmCancel, cfg: pc}, nil
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
	err := s.apply(s.cfg)
	s.mu.Unlock()

	var wg sync.WaitGroup
	wg.Go(func() { _ = s.dm.Run() })
	wg.Go(func() { _ = s.sm.Run(s.dm.SyncCh()) })
	if err == nil {
		<-ctx.Done()
	}

	s.mu.Lock()
	s.state = stateDone
	s.mu.Unlock()
	start := time.Now()
	s.dmCancel()
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

// apply hands pc to the scrape manager, then to discovery, as Prometheus
// does, so that targets never arrive for a job the scrape manager lacks.
// Called with s.mu held.
func (s *Scraper) apply(pc *promconfig.Config) error {
	if err := s.sm.ApplyConfig(pc); err != nil {
		return fmt.Errorf("apply scrape configs: %w", err)
	}
	sd := make(map[string]discovery.Configs, len(pc.ScrapeConfigs))
	for _, c := range pc.ScrapeConfigs {
		sd[c.JobName] = c.ServiceDiscoveryConfigs
	}
	if err := s.dm.ApplyConfig(sd); err != nil {
		return fmt.Errorf("apply service discovery configs: %w", err)
	}
	return nil
}

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
