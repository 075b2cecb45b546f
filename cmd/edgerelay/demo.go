package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/relay/cloud"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/edge"
	"github.com/edgerelay/edgerelay/relay/synth"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a synthetic target, an edge and a cloud in one process on loopback",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "./demo-data", Usage: "where queue, files and certificates go", EnvVars: envs("dir")},
			&cli.DurationFlag{Name: "scrape-interval", Value: 2 * time.Second, Usage: "how often the edge scrapes the target", EnvVars: envs("scrape-interval")},
			&cli.IntFlag{Name: "series", Value: 50, Usage: "series per family in the synthetic target", EnvVars: envs("series")},
			&cli.IntFlag{Name: "listen-base", Usage: "bind the target, cloud HTTP, edge HTTP and cloud QUIC on 127.0.0.1 ports BASE to BASE+3 (default: 9999, 9400, 9201, any free; or any free when taken)", EnvVars: envs("listen-base")},
		},
		Action: func(c *cli.Context) error {
			log, err := logger(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			d := &demo{interval: c.Duration("scrape-interval"), series: c.Int("series"), base: c.Int("listen-base"), log: log}
			return runDemo(ctx, c.App.Writer, d, c.String("dir"))
		},
	}
}

// listen binds the preferred loopback port, or any free one when it is taken.
func listen(preferred string) (net.Listener, error) {
	if ln, err := net.Listen("tcp", preferred); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

func runDemo(ctx context.Context, out io.Writer, d *demo, dir string) error {
	var err error
	if d.dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := d.listen(); err != nil {
		return err
	}
	cl, err := d.newCloud()
	if err != nil {
		return err
	}
	e, err := d.newEdge(ctx, cl.QUICAddr())
	if err != nil {
		return err
	}
	d.printAddresses(out, cl.QUICAddr())

	targetSrv := &http.Server{Handler: &synth.Target{Series: d.series}, ReadHeaderTimeout: 5 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cl.Run(gctx) })
	g.Go(func() error { return e.Run(gctx) })
	g.Go(func() error {
		if err := targetSrv.Serve(d.targetLn); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		return targetSrv.Close()
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// demo is what `edgerelay demo` runs: a synthetic target, a cloud and an
// edge scraping the target and itself, on loopback.
type demo struct {
	dir      string
	interval time.Duration
	series   int
	base     int // --listen-base: 0 for the usual ports
	log      *slog.Logger

	targetLn, cloudLn, edgeLn net.Listener
}

// listen binds the target's, the cloud's and the edge's HTTP ports: the
// usual ones when free, or --listen-base's.
func (d *demo) listen() error {
	if d.base == 0 {
		var err error
		if d.targetLn, err = listen("127.0.0.1:9999"); err != nil {
			return err
		}
		if d.cloudLn, err = listen("127.0.0.1:9400"); err != nil {
			return err
		}
		d.edgeLn, err = listen("127.0.0.1:9201")
		return err
	}
	if d.base < 1 || d.base > 65535-3 {
		return fmt.Errorf("--listen-base must be a port from 1 to 65532; got %d", d.base)
	}
	for i, ln := range []*net.Listener{&d.targetLn, &d.cloudLn, &d.edgeLn} {
		var err error
		if *ln, err = net.Listen("tcp", d.addr(i)); err != nil {
			return fmt.Errorf("--listen-base %d: %w", d.base, err)
		}
	}
	return nil
}

// addr is the loopback address of --listen-base + offset: 0 the target, 1
// the cloud's HTTP, 2 the edge's HTTP, 3 the cloud's QUIC.
func (d *demo) addr(offset int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.base+offset))
}

// newCloud builds the demo's cloud, its QUIC listener on --listen-base+3 or
// any free port.
func (d *demo) newCloud() (*cloud.Cloud, error) {
	quicAddr := "127.0.0.1:0"
	if d.base != 0 {
		quicAddr = d.addr(3)
	}
	cfg, err := config.Parse(fmt.Appendf(nil, `
cloud:
  quic_listen: %s
  http_listen: %s
  data_dir: %q
  files_dir: %q
`, quicAddr, d.cloudLn.Addr(), filepath.Join(d.dir, "cloud"), filepath.Join(d.dir, "files")))
	if err != nil {
		return nil, fmt.Errorf("BUG: demo cloud config: %w", err)
	}
	return cloud.New(cfg.Cloud, cloud.Options{Logger: d.log, Listener: d.cloudLn})
}

// newEdge builds the demo's edge: it scrapes the target and itself, drops the
// Go runtime's series with the built-in filter and sends to the cloud at
// quicAddr.
func (d *demo) newEdge(ctx context.Context, quicAddr net.Addr) (*edge.Edge, error) {
	cfg, err := config.Parse(fmt.Appendf(nil, `
edge:
  tenant: demo
  site: demo-site
  data_dir: %q
  http_listen: %s
  scrape_configs:
    - job_name: synth
      scrape_interval: %s
      scrape_timeout: %s
      static_configs: [{targets: [%q], labels: {env: demo}}]
    - job_name: edgerelay
      scrape_interval: %s
      static_configs: [{targets: [%q]}]
  plugins:
    - name: drop-go-runtime
      module: builtin:filter
      config:
        drop: ['{__name__=~"go_gc_.*|go_memstats_.*"}']
  upstream:
    address: %s
    server_name: localhost
    insecure_skip_verify: true
`, filepath.Join(d.dir, "edge"), d.edgeLn.Addr(), d.interval, min(d.interval, 10*time.Second), d.targetLn.Addr(),
		max(d.interval, 5*time.Second), d.edgeLn.Addr(), quicAddr))
	if err != nil {
		return nil, fmt.Errorf("BUG: demo edge config: %w", err)
	}
	chain := pluginChain(ctx, cfg.Edge, d.log, pluginCacheDir(cfg.Edge), nil)
	return edge.New(cfg.Edge, edge.Options{Logger: d.log, NewProcessor: chain, Listener: d.edgeLn})
}

// printAddresses tells the user where to look.
func (d *demo) printAddresses(out io.Writer, quicAddr net.Addr) {
	fmt.Fprintf(out, `edgerelay demo: a synthetic target, an edge and a cloud on loopback.

  target    http://%[1]s/metrics            (%[2]d series per family, scraped every %[3]s)
  edge      http://%[4]s/                   status page
            http://%[4]s/metrics            the edge's own metrics
            http://%[4]s/api/v1/write       Prometheus remote_write receiver
  uplink    QUIC to %[5]s (self-signed TLS)
  cloud     http://%[6]s/                   status page
            http://%[6]s/federate?match[]={job=~".+"}
            http://%[6]s/metrics
  files     %[7]s/demo/demo-site/<instance>.<job>/<epoch_us>/

Press Ctrl-C to stop.
`, d.targetLn.Addr(), d.series, d.interval, d.edgeLn.Addr(), quicAddr, d.cloudLn.Addr(), filepath.Join(d.dir, "files"))
}
