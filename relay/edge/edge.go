// Package edge wires the edge role: ingest (scrapes and remote_write) feeds
// the plugin chain, identity labels are added, batches are made durable in
// the queue with group commits, and the forwarder ships queued blocks to
// the cloud over QUIC. Run blocks until its context ends, then stops the
// parts in reverse order and closes the queue. remote_write metadata is
// queued when it changes, and in full after each uplink connection
// (metadata.go).
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/forward"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/reload"
	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/upstreams"
	"github.com/edgerelay/edgerelay/relay/webauth"
	"github.com/edgerelay/edgerelay/store"
)

// Processor rewrites a batch in place before it is queued: the plugin chain.
// For a scrape batch it also sets Job, Instance and TargetLabels to what the
// chain made of the target's labels, so that nothing the chain rewrote
// leaves the edge.
type Processor interface {
	Process(ctx context.Context, b *relay.Batch) error
	Close(ctx context.Context) error
}

// derivedSource is a Processor whose stages emit new series while
// processing scrapes (host.Chain): TakeDerived returns them as a batch of
// their own, nil when there are none.
type derivedSource interface {
	TakeDerived() *relay.Batch
}

// NewProcessor builds a processor whose metrics go to reg.
type NewProcessor func(reg prometheus.Registerer) (Processor, error)

// Options are what the caller provides besides the configuration.
type Options struct {
	Logger *slog.Logger
	// NewProcessor builds the plugin chain, which runs before identity
	// labels are added; nil means none.
	NewProcessor NewProcessor
	// Listener, when set, is used instead of binding cfg.HTTPListen.
	Listener net.Listener
	// Reloader, when set, serves POST /-/reload and its outcome goes to
	// /metrics and the status page.
	Reloader *reload.Reloader
}

// Edge is one running edge role.
type Edge struct {
	cfg *config.Edge // as started; Reload changes only live
	// live is the configuration last applied (reload.go).
	live atomic.Pointer[config.Edge]
	log  *slog.Logger
	rel  *reload.Reloader
	proc atomic.Pointer[procBox]
	// procMu is held shared while a batch runs through the chain.
	procMu sync.RWMutex
	reg    *prometheus.Registry
	ln     net.Listener
	web    *webauth.Listener // the HTTP listener's TLS and basic auth
	queue  *store.Queue
	com    *committer
	space  *spaceGuard
	// fwds ship the queue, one per upstream (upNames), run by
	// package upstreams: ups shares the queue among edge.upstreams (nil
	// for the one-upstream form), gate pauses the uplink.
	fwds    []*forward.Forwarder
	upNames []string
	ups     *upstreams.Set
	gate    *upstreams.Gate
	upm     *upstreams.Metrics
	refused *refusedAtCloud
	meta    *metaTracker
	ready   atomic.Bool
	// scraper is set once Run has built it.
	scraper atomic.Pointer[ingest.Scraper]
	// reloadMu orders Reload and Run's building the scraper.
	reloadMu sync.Mutex

	extra   atomic.Pointer[labels.Labels] // site and external labels
	idents  *identities
	dropped prometheus.Counter
	drops   dropLog
	shard   *scrapeShard    // nil: not sharing scrape_configs
	targets *targetStates   // the status page's targets
	hist    *status.History // the status page's chart
	held    prometheus.Counter
	qBlocks prometheus.GaugeFunc
	started time.Time
}

// New opens the queue and binds the HTTP listener; Run starts the work.
func New(cfg *config.Edge, o Options) (*Edge, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("role", "edge")
	e := &Edge{cfg: cfg, log: log, rel: o.Reloader, reg: prometheus.NewRegistry(), started: time.Now()}
	e.live.Store(cfg)
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if e.rel != nil {
		e.reg.MustRegister(e.rel)
	}
	e.proc.Store(&procBox{})
	var err error
	if e.web, err = newWeb(cfg, log, e.reg); err != nil {
		return nil, err
	}
	if o.NewProcessor != nil {
		p, err := o.NewProcessor(e.reg)
		if err != nil {
			return nil, err // names the field: edge.plugins[i]...
		}
		e.proc.Store(&procBox{p: p})
	}

	extra := siteLabels(cfg)
	e.extra.Store(&extra)
	e.held = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_pipeline_held_batches_total",
		Help: "Batches refused to ingest because a fail_closed plugin stage failed.",
	})
	e.reg.MustRegister(e.held, tlsutil.ExpiryCollector(uplinkCerts(cfg)))
	e.idents = newIdentities(e.reg)
	e.targets, e.hist = newTargetStates(), newHistory()
	e.meta = newMetaTracker(MaxMetadataFamilies, metadataChunk(int(cfg.Queue.MaxBlockBytes)), log, e.reg)
	if err := e.openQueue(); err != nil {
		return nil, err
	}
	q := e.queue
	if e.shard, err = e.newScrapeShard(cfg); err != nil {
		q.Close()
		return nil, err
	}
	e.space = newSpaceGuard(cfg.DataDir, uint64(cfg.Queue.MinFreeBytes), log, e.reg)
	e.com = newCommitter(q, cfg.Tenant, cfg.Site, cfg.Queue.CommitInterval, int(cfg.Queue.MaxBlockBytes), log, e.reg)
	if !cfg.Delta.Disabled {
		delta := cfg.Delta
		setDefaultDuration(&delta.FullEvery, config.DefaultDelta.FullEvery)
		var names []string
		for _, u := range cfg.UpstreamList() {
			names = append(names, u.Name)
		}
		e.com.delta = newDeltaEncoder(delta, int64(cfg.Queue.MaxBytes), extra, names, e.reg)
	}

	e.refused = newRefusedAtCloud(e.reg, e.log)
	if err := e.newForwarders(); err != nil {
		q.Close()
		return nil, err
	}

	e.ln = o.Listener
	if e.ln == nil {
		if e.ln, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			q.Close()
			return nil, fmt.Errorf("edge.http_listen: %w", err)
		}
	}
	return e, nil
}

// onConnect runs when the uplink to upstream (re)connects. A cloud that
// cannot ask for a resync (protocol version 1) gets a new generation on
// every connection, in case it lost its delta bases; one that can asks
// when it needs to. The delta frame version follows what every upstream's
// cloud decodes (cloudVersions). Either way the next remote_write batch
// carries all remote_write metadata.
func (e *Edge) onConnect(upstream string, canResync bool, deltaVersion int) {
	e.meta.resend()
	if e.com.delta == nil {
		return
	}
	before := int(e.com.delta.clouds.want.Load())
	if now := e.com.delta.clouds.connected(upstream, deltaVersion); now != before {
		e.log.Info("delta frame version changes with the next generation", "version", now, "upstream", upstream, "cloud_decodes", deltaVersion)
	}
	if deltaVersion < before {
		e.log.Warn("this upstream's cloud cannot decode delta frames of the version queued until now; it refuses those blocks until a newer cloud takes them",
			"upstream", upstream, "cloud_decodes", deltaVersion, "queued_version", before)
	}
	if !canResync {
		e.com.delta.requestCheckpoint()
	}
}

// onResync runs when the cloud met a delta frame whose base it does not
// hold: the next frames start a new generation, full frames, so the cloud
// is whole again within a scrape interval, and the next remote_write batch
// carries all remote_write metadata.
func (e *Edge) onResync() {
	e.meta.resend()
	if e.com.delta != nil {
		e.log.Warn("the cloud lacks delta bases of this edge; starting a new generation (full frames)")
		e.com.delta.requestCheckpoint()
	}
}

// onStall runs when the cloud has left a block unanswered for a while: it
// may be dead, and its site taken over by another cloud of a cluster that
// lacks this edge's delta bases, so what is queued from now on starts a
// new generation.
func (e *Edge) onStall() {
	if e.com.delta != nil {
		e.com.delta.requestCheckpoint()
	}
}

func setDefaultDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Addr is where the HTTP listener is bound.
func (e *Edge) Addr() net.Addr { return e.ln.Addr() }

// Registry holds the edge's own metrics, served on /metrics.
func (e *Edge) Registry() *prometheus.Registry { return e.reg }

// Submit runs b through the plugin chain, adds identity labels and returns
// once b is durable in the queue. It implements ingest.Sink; once it has
// returned nil it keeps no reference to b's series, so the scraper reuses
// their memory (ingest.ScrapeConfig.ReuseBatches). A remote_write batch
// (not a scrape) then has its series' own label sets again, without
// identity (submitIdentified).
func (e *Edge) Submit(ctx context.Context, b *relay.Batch) error {
	if b.Scrape {
		e.targets.note(b)
	}
	e.procMu.RLock()
	var derived *relay.Batch
	if p := e.proc.Load().p; p != nil {
		scraped := target{b.Job, b.Instance}
		if err := p.Process(ctx, b); err != nil {
			e.procMu.RUnlock()
			e.held.Inc()
			return fmt.Errorf("plugin chain: %w", err)
		}
		if b.Scrape && len(b.Series) > 0 {
			e.idents.note(scraped, target{b.Job, b.Instance}, e.log)
		}
		if d, ok := p.(derivedSource); ok {
			derived = d.TakeDerived()
		}
	}
	e.procMu.RUnlock()
	if derived != nil {
		// Series a stream stage (builtin:aggregate, builtin:rules) made
		// from scrapes belong to no one target: they ship as
		// remote_write does.
		addIdentity(derived, *e.extra.Load())
		if err := e.submitRemoteWrite(ctx, derived); err != nil {
			return fmt.Errorf("series emitted by plugins: %w", err)
		}
	}
	if !b.Scrape {
		// remote_write metadata travels when it changes (metadata.go).
		return submitIdentified(ctx, b, *e.extra.Load(), e.submitRemoteWrite)
	}
	if e.com.delta == nil {
		// With delta encoding the committer merges identity into a
		// scrape's keys, without building label sets.
		addIdentity(b, *e.extra.Load())
	}
	if len(b.Series) == 0 {
		return nil
	}
	if err := e.space.check(); err != nil {
		return err
	}
	return e.com.submit(ctx, b)
}

// Run serves until ctx is done, then stops ingest first, commits what is
// pending, stops the uplink and closes the queue.
func (e *Edge) Run(ctx context.Context) error {
	defer e.queue.Close()

	// A reload waits until the scraper is built from the live config.
	e.reloadMu.Lock()
	live := e.live.Load()
	scraper, err := ingest.NewScraper(e, ingest.ScrapeConfig{
		Configs: live.Scrape, Logger: e.log, Registerer: e.reg,
		// Submit keeps nothing of a batch once it returned nil: the
		// committer has encoded it into blocks by then.
		ReuseBatches: true,
		Shard:        e.shardFilter(),
	})
	if err == nil {
		e.scraper.Store(scraper)
	}
	e.reloadMu.Unlock()
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	// Headers within 10s; a request's body, and an idle keep-alive
	// connection, within Prometheus' default --web.read-timeout.
	srv := &http.Server{Handler: e.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute}

	// The committer outlives ingest so that in-flight batches are made durable.
	comCtx, stopCommitter := context.WithCancel(context.WithoutCancel(ctx))
	comDone := make(chan error, 1)
	go func() { comDone <- e.com.run(comCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.runUplinks(gctx) })
	g.Go(func() error { return scraper.Run(gctx) })
	if e.shard != nil && e.shard.run != nil {
		g.Go(func() error { return e.shard.run(gctx, scraper.Reshard) })
	}
	g.Go(func() error { e.hist.Run(gctx, e.sampleHistory()); return nil })
	g.Go(func() error {
		if err := e.web.Serve(srv, e.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("edge http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		start := time.Now()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		e.log.Info("http stopped", "took", time.Since(start))
		return err
	})
	e.ready.Store(true)
	e.log.Info("edge running", "http", e.ln.Addr().String(), "upstreams", e.upNames,
		"queue_id", fmt.Sprintf("%016x", e.queue.ID()), "scrape_jobs", len(live.Scrape))
	err = g.Wait()
	e.ready.Store(false)

	start := time.Now()
	stopCommitter()
	<-comDone
	e.log.Info("queue committed and closing", "took", time.Since(start), "backlog_blocks", e.queue.Stats().Blocks)
	if p := e.proc.Load().p; p != nil {
		if cerr := p.Close(context.Background()); cerr != nil {
			e.log.Warn("closing the plugin chain", "err", cerr)
		}
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
