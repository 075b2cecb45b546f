// Package cloud wires the cloud role: it accepts authenticated edges over
// QUIC, decodes their blocks, drops blocks already handled, writes each
// scrape in the zstats file layout, keeps the latest samples for /federate,
// and acknowledges a block only once all of that is durable. Run blocks
// until its context ends.
package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/federate"
	"github.com/edgerelay/edgerelay/relay/cloud/files"
	"github.com/edgerelay/edgerelay/relay/cloud/limits"
	"github.com/edgerelay/edgerelay/relay/cloud/meta"
	"github.com/edgerelay/edgerelay/relay/cloud/rwout"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// Options are what the caller provides besides the configuration.
type Options struct {
	Logger *slog.Logger
	// Listener, when set, is used instead of binding cfg.HTTPListen.
	Listener net.Listener
}

// Cloud is one running cloud role.
type Cloud struct {
	cfg     *config.Cloud
	log     *slog.Logger
	reg     *prometheus.Registry
	ln      net.Listener
	srv     *transport.Server
	files   *files.Writer
	fed     *federate.Store
	meta    *meta.Store
	marks   *watermarks
	bases   *bases
	limits  *limits.Limiter // per tenant (limitwire.go)
	out     []*rwout.Forwarder
	auth    *authenticator
	access  *access // who reads what over HTTP; nil when only importing
	started time.Time

	received   prometheus.Counter
	blocks     *prometheus.CounterVec
	duplicates prometheus.Counter
	frames     *prometheus.CounterVec
	// baseDropped counts delta bases dropped at max_base_series.
	baseDropped *prometheus.CounterVec
}

// New prepares TLS, binds the QUIC and HTTP listeners and opens the file
// writer; Run starts serving.
func New(cfg *config.Cloud, o Options) (*Cloud, error) {
	c, err := newReceiver(cfg, o)
	if err != nil {
		return nil, err
	}
	if c.access, err = newAccess(cfg, c.log, c.reg); err != nil {
		return nil, err
	}
	c.access.warn(c.log)
	tlsConf, err := tlsutil.ServerTLS(cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile, cfg.DataDir, c.log)
	if err != nil {
		return nil, fmt.Errorf("cloud.%w", err)
	}
	resetKey, err := loadResetKey(filepath.Join(cfg.DataDir, "quic-reset.key"))
	if err != nil {
		return nil, fmt.Errorf("cloud.data_dir: %w", err)
	}
	c.srv, err = transport.NewServer(transport.ServerConfig{
		Addr: cfg.QUICListen, TLS: tlsConf, Auth: c.auth.check, Handle: c.handle,
		MaxBlockBytes: int(cfg.MaxBlockBytes), Logger: c.log, Registerer: c.reg,
		ResetKey: resetKey,
		Held:     c.held,
		// A tenant's sites together: its limits.max_connections.
		MaxConnsPerTenant: func(t string) int { return c.limits.Limits(t).MaxConnections },
		// Live data beside a backlog reaches remote_write receivers before
		// older samples of the same series: only where they take that.
		Lanes: len(cfg.Forward) == 0 || cfg.RemoteWriteOutOfOrder,
	})
	if err != nil {
		return nil, fmt.Errorf("cloud.quic_listen: %w", err)
	}
	c.ln = o.Listener
	if c.ln == nil {
		if c.ln, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			c.srv.Close()
			return nil, fmt.Errorf("cloud.http_listen: %w", err)
		}
	}
	return c, nil
}

// newReceiver builds what handles blocks — authentication, deduplication,
// files, /federate state and remote_write forwarding — without binding
// anything, for New and for importing bundles.
func newReceiver(cfg *config.Cloud, o Options) (*Cloud, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("role", "cloud")
	c := &Cloud{cfg: cfg, log: log, reg: prometheus.NewRegistry(), started: time.Now()}
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c.received = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_received_samples_total", Help: "Samples rebuilt and accepted from edges.",
	})
	c.blocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_blocks_total", Help: "Blocks received from edges, by outcome.",
	}, []string{"outcome"})
	c.duplicates = c.blocks.WithLabelValues("duplicate")
	c.frames = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_delta_frames_total",
		Help: "Delta frames received, by outcome: applied; repeat (already applied, skipped); no_base (an incremental frame whose base is gone: its scrape is lost, counted and logged, never written wrong); replay_failed (frames of the persisted log that did not apply on load).",
	}, []string{"outcome"})
	c.reg.MustRegister(c.received, c.blocks, c.frames)

	var err error
	if c.auth, err = newAuthenticator(cfg, log, c.reg); err != nil {
		return nil, err
	}
	if c.marks, err = newWatermarks(filepath.Join(cfg.DataDir, "dedup")); err != nil {
		return nil, err
	}
	if c.bases, err = newBases(filepath.Join(cfg.DataDir, "bases")); err != nil {
		return nil, err
	}
	c.newLimits()
	if c.meta, err = meta.New(meta.Config{Dir: filepath.Join(cfg.DataDir, "metadata"), Logger: log, Registerer: c.reg,
		SiteFamilies: func(t string) int { return cfg.TenantLimits(t).MaxMetadataFamilies },
		Refused:      func(t string, n int) { c.limits.RefusedMetadata(t, limits.ReasonMetadataFamilies, n) },
	}); err != nil {
		return nil, fmt.Errorf("cloud.data_dir: %w", err)
	}
	if c.files, err = files.New(files.Config{Dir: cfg.FilesDir, Retention: cfg.FilesRetention, Logger: log, Registerer: c.reg}); err != nil {
		return nil, fmt.Errorf("cloud.files_dir: %w", err)
	}
	for i, rw := range cfg.Forward {
		f, err := rwout.New(rw, rwout.Options{Logger: log, Registerer: c.reg})
		if err != nil {
			return nil, fmt.Errorf("cloud.remote_write[%d]: %w", i, err)
		}
		c.out = append(c.out, f)
	}
	c.fed = federate.New(federate.Config{MaxAge: cfg.Federate.MaxAge, Logger: log, Registerer: c.reg})
	return c, nil
}

// Addr is where the HTTP listener is bound.
func (c *Cloud) Addr() net.Addr { return c.ln.Addr() }

// QUICAddr is where edges connect.
func (c *Cloud) QUICAddr() net.Addr { return c.srv.Addr() }

// held tells a connecting edge which of its blocks are durable here
// already (a bundle imported, or acknowledgements lost in a crash), so it
// deletes them instead of sending them again.
func (c *Cloud) held(p transport.Peer) []transport.Span {
	spans, err := c.marks.handled(p.Tenant, p.Site, p.QueueID)
	if err != nil {
		c.log.Warn("dedup state unreadable; the edge resends what it holds", "tenant", p.Tenant, "site", p.Site, "err", err)
		return nil
	}
	out := make([]transport.Span, len(spans))
	for i, sp := range spans {
		out[i] = transport.Span{From: sp.From, To: sp.To}
	}
	return out
}

// handle applies one block from an authenticated edge. It returns a nil
// error only once the block's effects are durable, which is when the edge
// may delete it; the Ack asks for a resync and counts refused samples.
func (c *Cloud) handle(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (transport.Ack, error) {
	n, ack, err := c.apply(ctx, p, seq, lane, data)
	if err != nil {
		return transport.Ack{}, err
	}
	// Over the tenant's rate limits the acknowledgement waits: the edge
	// keeps what it has not sent yet.
	return ack, c.limits.Throttle(ctx, p.Tenant, n, len(data))
}

// apply is handle, returning the number of samples accepted and the
// block's answer to the edge.
func (c *Cloud) apply(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (int, transport.Ack, error) {
	var ack transport.Ack
	seen, err := c.marks.seen(p.Tenant, p.Site, p.QueueID, seq)
	if err != nil {
		c.blocks.WithLabelValues("error").Inc()
		return 0, ack, err
	}
	if seen {
		c.duplicates.Inc()
		return 0, ack, nil
	}
	blk, err := block.Decode(data)
	if err != nil {
		c.blocks.WithLabelValues("corrupt").Inc()
		c.log.Error("undecodable block held at the edge", "tenant", p.Tenant, "site", p.Site, "seq", seq, "err", err)
		return 0, ack, fmt.Errorf("decode block %d: %w", seq, err)
	}
	if blk.Tenant != p.Tenant || blk.Site != p.Site {
		c.blocks.WithLabelValues("refused").Inc()
		return 0, ack, fmt.Errorf("block %d names tenant %q site %q, connection is tenant %q site %q", seq, blk.Tenant, blk.Site, p.Tenant, p.Site)
	}
	var sb *siteBase
	var applied [][]byte
	var fc frameCounts
	if len(blk.Frames) > 0 {
		if sb, err = c.bases.get(p.Tenant, p.Site, lane); err != nil {
			c.blocks.WithLabelValues("error").Inc()
			return 0, ack, fmt.Errorf("block %d: %w", seq, err)
		}
		// Until its effects are durable, what this block applies to the
		// base is forgotten on failure: the resent block applies again.
		defer func() {
			if sb != nil {
				sb.discard()
			}
		}()
		if applied, fc, err = c.rebuild(p, seq, sb, blk); err != nil {
			c.blocks.WithLabelValues("corrupt").Inc()
			c.log.Error("undecodable delta frame held at the edge", "tenant", p.Tenant, "site", p.Site, "seq", seq, "err", err)
			return 0, ack, fmt.Errorf("block %d: %w", seq, err)
		}
	}
	lb := labels.NewBuilder(labels.EmptyLabels())
	refused := 0
	for _, b := range blk.Batches {
		// Series and metadata a tenant limit or a label check refuses are
		// removed here, counted and logged (package limits).
		refused += c.limits.Admit(p.Tenant, p.Site, b)
		if !b.Scrape {
			// remote_write metadata arrives when it changes; each batch
			// is written with what is known of its families.
			if err := c.meta.Apply(p.Tenant, p.Site, b); err != nil {
				c.blocks.WithLabelValues("error").Inc()
				return 0, ack, fmt.Errorf("block %d: %w", seq, err)
			}
		}
		// The tenant label is the authenticated tenant, whatever the edge sent.
		for i := range b.Series {
			lb.Reset(b.Series[i].Labels)
			lb.Set("tenant", p.Tenant)
			b.Series[i].Labels = lb.Labels()
		}
		if err := c.files.Write(p.Tenant, p.Site, b); err != nil {
			c.blocks.WithLabelValues("error").Inc()
			return 0, ack, fmt.Errorf("write files for block %d: %w", seq, err)
		}
		for _, f := range c.out {
			if err := f.Send(ctx, b); err != nil {
				c.blocks.WithLabelValues("error").Inc()
				return 0, ack, fmt.Errorf("forward block %d: %w", seq, err)
			}
		}
		c.fed.Update(p.Tenant, b)
	}
	if sb != nil {
		resync, err := c.finishBase(p, sb, applied)
		sb = nil
		ack.Resync = resync
		if err != nil {
			c.blocks.WithLabelValues("error").Inc()
			return 0, ack, fmt.Errorf("block %d: %w", seq, err)
		}
	}
	if err := c.marks.advance(p.Tenant, p.Site, p.QueueID, seq); err != nil {
		c.blocks.WithLabelValues("error").Inc()
		return 0, ack, err
	}
	c.blocks.WithLabelValues("accepted").Inc()
	c.frames.WithLabelValues("applied").Add(float64(len(applied)))
	c.frames.WithLabelValues("repeat").Add(float64(fc.repeat))
	c.frames.WithLabelValues("no_base").Add(float64(fc.noBase))
	// A frame without its base: the edge starts a new generation.
	ack.Resync = ack.Resync || fc.noBase > 0
	ack.Refused = uint64(refused)
	n := blk.Samples()
	c.received.Add(float64(n))
	return n, ack, nil
}

// rebuild applies the block's delta frames to the site's base, in order,
// appending the scrapes they carry to blk.Batches, and returns the frames
// applied. A frame already in the base is skipped; an incremental frame
// without its base is counted and logged, its scrape lost (the edge starts
// a new generation, full frames, on its next connection). A frame that does
// not parse fails the block. The caller counts the outcomes once the block
// is durable.
func (c *Cloud) rebuild(p transport.Peer, seq uint64, sb *siteBase, blk *relay.Block) ([][]byte, frameCounts, error) {
	var fc frameCounts
	if n := sb.replayFailed; n > 0 {
		sb.replayFailed = 0
		c.frames.WithLabelValues("replay_failed").Add(float64(n))
		c.log.Warn("persisted delta bases were damaged (a checkpoint set aside as .state.corrupt, or log frames that did not apply); their targets need a full frame",
			"tenant", p.Tenant, "site", p.Site, "frames", n)
	}
	var applied [][]byte
	for _, f := range blk.Frames {
		h, err := delta.ParseHeader(f)
		if err != nil {
			return nil, fc, err
		}
		if sb.dec.Applied(h) {
			fc.repeat++
			continue
		}
		scr, err := sb.dec.Apply(f)
		var need *delta.ErrNeedFull
		if errors.As(err, &need) {
			fc.noBase++
			job, instance := delta.SplitTarget(h.Target)
			c.log.Warn("delta frame without its base: scrape lost", "tenant", p.Tenant, "site", p.Site,
				"seq", seq, "job", job, "instance", instance, "generation", h.Generation, "k", h.K)
			continue
		}
		if err != nil {
			return nil, fc, err
		}
		b, err := deltaconv.BatchOf(scr)
		if err != nil {
			return nil, fc, err
		}
		blk.Batches = append(blk.Batches, b)
		applied = append(applied, f)
	}
	return applied, fc, nil
}

// frameCounts are the outcomes of one block's frames besides "applied".
type frameCounts struct{ repeat, noBase int }

// Run serves QUIC and HTTP until ctx is done.
func (c *Cloud) Run(ctx context.Context) error {
	// Headers within 10s; a request's body, and an idle keep-alive
	// connection, within Prometheus' default --web.read-timeout.
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.srv.Run(gctx) })
	g.Go(func() error { return c.files.Run(gctx) })
	g.Go(func() error { return c.fed.Run(gctx) })
	g.Go(func() error {
		if err := c.access.web.Serve(srv, c.ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("cloud http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	c.log.Info("cloud running", "quic", c.srv.Addr().String(), "http", c.ln.Addr().String(), "files", c.cfg.FilesDir)
	err := g.Wait()
	c.bases.close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
