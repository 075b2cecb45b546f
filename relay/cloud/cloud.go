// Package cloud wires the cloud role: it accepts authenticated edges over
// QUIC and hands each block to the receive path (receive.go): decode, drop
// what was handled already, rebuild the delta frames, admit by the
// tenant's limits, give the block to every output (package output: the
// files in the zstats layout, remote_write out, /federate), commit, and
// acknowledge the block only once all of that is durable. Import carries
// a bundle through the same path. Run blocks until its context ends.
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
	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/internal/fsutil"
	"github.com/edgerelay/edgerelay/relay/cloud/federate"
	"github.com/edgerelay/edgerelay/relay/cloud/files"
	"github.com/edgerelay/edgerelay/relay/cloud/limits"
	"github.com/edgerelay/edgerelay/relay/cloud/meta"
	"github.com/edgerelay/edgerelay/relay/cloud/notify"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/cloud/rwout"
	"github.com/edgerelay/edgerelay/relay/cloud/stream"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/reload"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// Options are what the caller provides besides the configuration.
type Options struct {
	Logger *slog.Logger
	// Listener, when set, is used instead of binding cfg.HTTPListen.
	Listener net.Listener
	// Reloader, when set, serves POST /-/reload and its outcome goes to
	// /metrics and the status page.
	Reloader *reload.Reloader
}

// Cloud is one running cloud role: the receive path (receiver, in
// receive.go) behind a QUIC listener and an HTTP listener.
type Cloud struct {
	*receiver
	ln      net.Listener
	rel     *reload.Reloader
	srv     *transport.Server
	access  *access // who reads what over HTTP
	started time.Time
	cluster *cluster // nil without cloud.cluster
}

// New prepares TLS, binds the QUIC and HTTP listeners and opens the file
// writer; Run starts serving.
func New(cfg *config.Cloud, o Options) (*Cloud, error) {
	r, err := newReceiver(cfg, o)
	if err != nil {
		return nil, err
	}
	c := &Cloud{receiver: r, rel: o.Reloader, started: time.Now()}
	if c.rel != nil {
		c.reg.MustRegister(c.rel)
	}
	if c.access, err = newAccess(cfg, c.log, c.reg); err != nil {
		return nil, err
	}
	c.access.warn(c.log)
	tlsConf, err := tlsutil.ServerTLS(cfg.CertFile, cfg.KeyFile, cfg.ClientCAFile, cfg.DataDir, c.log)
	if err != nil {
		return nil, fmt.Errorf("cloud.%w", err)
	}
	c.reg.MustRegister(tlsutil.ExpiryCollector(cloudCerts(cfg)))
	resetKey, err := loadResetKey(filepath.Join(cfg.DataDir, "quic-reset.key"))
	if err != nil {
		return nil, fmt.Errorf("cloud.data_dir: %w", err)
	}
	group, redirect := c.handleGroup, (func(transport.Peer) *transport.RedirectError)(nil)
	if cfg.Cluster != nil {
		c.cluster = newCluster(cfg.Cluster, c.log, c.reg, c.sites.count)
		c.applied = c.cluster.applied
		group, redirect = c.groupClustered, c.cluster.atHello
	}
	c.srv, err = transport.NewServer(transport.ServerConfig{
		Addr: cfg.QUICListen, TLS: tlsConf, Auth: c.auth.check, Group: group, Base: c.base, Redirect: redirect,
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

// newReceiver builds the receive path — authentication, deduplication,
// delta bases, limits, metadata and the outputs — without binding
// anything, for New and for importing bundles.
func newReceiver(cfg *config.Cloud, o Options) (*receiver, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("role", "cloud")
	r := &receiver{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	r.live.Store(cfg)
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r.received = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_received_samples_total", Help: "Samples rebuilt and accepted from edges.",
	})
	r.blocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_blocks_total", Help: "Blocks received from edges, by outcome.",
	}, []string{"outcome"})
	r.duplicates = r.blocks.WithLabelValues("duplicate")
	r.frames = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_delta_frames_total",
		Help: "Delta frames received, by outcome: applied; repeat (already applied, skipped); no_base (an incremental frame whose base is gone: its scrape is lost, counted and logged, never written wrong); replay_failed (frames of the persisted log that did not apply on load); base (frames of acknowledged blocks an edge sent again to rebuild the bases, applied and not written); replay_no_base (such frames that found no base either).",
	}, []string{"outcome"})
	r.reg.MustRegister(r.received, r.blocks, r.frames)
	r.sites = newSites(r.reg)
	r.relayRefused = newRelayRefused(r.reg)

	var err error
	if r.auth, err = newAuthenticator(cfg, log, r.reg); err != nil {
		return nil, err
	}
	if r.marks, err = newWatermarks(filepath.Join(cfg.DataDir, "dedup")); err != nil {
		return nil, err
	}
	if r.bases, err = newBases(filepath.Join(cfg.DataDir, "bases")); err != nil {
		return nil, err
	}
	// Block marks ride in the bases' log records (marklog.go).
	r.marks.logs, r.bases.marks = r.bases.logs, r.marks
	r.newLimits()
	if r.meta, err = meta.New(meta.Config{Dir: filepath.Join(cfg.DataDir, "metadata"), Logger: log, Registerer: r.reg,
		SiteFamilies: func(t string) int { return r.live.Load().TenantLimits(t).MaxMetadataFamilies },
		Refused:      func(t string, n int) { r.limits.RefusedMetadata(t, limits.ReasonMetadataFamilies, n) },
	}); err != nil {
		return nil, fmt.Errorf("cloud.data_dir: %w", err)
	}
	if r.outputs, err = newOutputs(r, cfg, log); err != nil {
		return nil, err
	}
	return r, nil
}

// newOutputs builds the outputs in the order each block goes to them:
// files (announced to cloud.notify's hooks when it has any), every remote_write endpoint, /federate and /api/v1/stream (kept in
// r.fed and r.stream for serving).
func newOutputs(r *receiver, cfg *config.Cloud, log *slog.Logger) (output.Fanout, error) {
	fw, err := files.New(files.Config{Dir: cfg.FilesDir, Retention: cfg.FilesRetention, Logger: log, Registerer: r.reg,
		SyncWindow: syncWindow})
	if err != nil {
		return nil, fmt.Errorf("cloud.files_dir: %w", err)
	}
	outs := output.Fanout{fw}
	fb, err := fsutil.BarrierFor(cfg.FilesDir, syncWindow) // files.New made it
	if err != nil {
		return nil, fmt.Errorf("cloud.files_dir: %w", err)
	}
	registerBarriers(r.reg, r.bases.barrier, fb)
	nt, err := notify.New(notify.Config{FilesDir: cfg.FilesDir, SpoolDir: filepath.Join(cfg.DataDir, "notify"),
		Notify: cfg.Notify, Logger: log, Registerer: r.reg})
	if err != nil {
		return nil, fmt.Errorf("cloud.notify: %w", err)
	}
	if nt != nil {
		outs[0] = notify.Files{W: fw, N: nt} // the files, announced
	}
	r.notify = nt
	for i, rw := range cfg.Forward {
		f, err := rwout.New(rw, rwout.Options{Logger: log, Registerer: r.reg, Out: forwardOut(cfg, i)})
		if err == nil {
			err = f.Open(filepath.Join(cfg.DataDir, "remote_write", config.RemoteWriteDirName(rw)))
		}
		if err != nil {
			outs.Close()
			return nil, fmt.Errorf("cloud.remote_write[%d]: %w", i, err)
		}
		outs = append(outs, f)
	}
	ch, err := r.newChain()
	if err != nil {
		outs.Close()
		return nil, err
	}
	if ch != nil {
		outs = append(outs, ch)
	}
	r.fed = federate.New(federate.Config{MaxAge: cfg.Federate.MaxAge, Logger: log, Registerer: r.reg})
	r.stream = stream.New(stream.Config{MaxSubscribers: cfg.Stream.MaxSubscribers, BufferSamples: cfg.Stream.BufferSamples,
		WriteTimeout: cfg.Stream.WriteTimeout, Logger: log, Registerer: r.reg})
	return append(outs, r.fed, r.stream), nil
}

// forwardOut is the edgerelay keys of cloud.remote_write[i].
func forwardOut(cfg *config.Cloud, i int) config.RemoteWriteOut {
	if i < len(cfg.ForwardOut) {
		return cfg.ForwardOut[i]
	}
	return config.RemoteWriteOut{}
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

// Run serves QUIC and HTTP until ctx is done.
func (c *Cloud) Run(ctx context.Context) error {
	// Headers within 10s; a request's body, and an idle keep-alive
	// connection, within Prometheus' default --web.read-timeout.
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute}
	if c.cluster != nil {
		if err := c.joinCluster(ctx); err != nil {
			c.srv.Close()
			c.ln.Close()
			c.bases.close()
			c.outputs.Close()
			return err
		}
		defer c.cluster.leave()
	}
	g, gctx := errgroup.WithContext(ctx)
	// Edges and outputs are served until a cluster member has handed its
	// sites over (handOff; at once without cloud.cluster).
	sctx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	g.Go(func() error {
		<-gctx.Done()
		c.handOff(ctx)
		stopServing()
		return nil
	})
	g.Go(func() error { return c.srv.Run(sctx) })
	g.Go(func() error { return c.outputs.Run(sctx) })
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
	if cerr := c.outputs.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
