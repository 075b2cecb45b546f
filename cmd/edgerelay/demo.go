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
		},
		Action: func(c *cli.Context) error {
			log, err := logger(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, c.App.Writer, log, c.String("dir"), c.Duration("scrape-interval"), c.Int("series"))
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

func runDemo(ctx context.Context, out io.Writer, log *slog.Logger, dir string, interval time.Duration, series int) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	target := &synth.Target{Series: series}
	targetLn, err := listen("127.0.0.1:9999")
	if err != nil {
		return err
	}
	targetSrv := &http.Server{Handler: target, ReadHeaderTimeout: 5 * time.Second}

	cloudLn, err := listen("127.0.0.1:9400")
	if err != nil {
		return err
	}
	edgeLn, err := listen("127.0.0.1:9201")
	if err != nil {
		return err
	}

	cloudCfg, err := config.Parse(fmt.Appendf(nil, `
cloud:
  quic_listen: 127.0.0.1:0
  http_listen: %s
  data_dir: %q
  files_dir: %q
`, cloudLn.Addr(), filepath.Join(dir, "cloud"), filepath.Join(dir, "files")))
	if err != nil {
		return fmt.Errorf("BUG: demo cloud config: %w", err)
	}
	cl, err := cloud.New(cloudCfg.Cloud, cloud.Options{Logger: log, Listener: cloudLn})
	if err != nil {
		return err
	}

	edgeCfg, err := config.Parse(fmt.Appendf(nil, `
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
`, filepath.Join(dir, "edge"), edgeLn.Addr(), interval, min(interval, 10*time.Second), targetLn.Addr(),
		max(interval, 5*time.Second), edgeLn.Addr(), cl.QUICAddr()))
	if err != nil {
		return fmt.Errorf("BUG: demo edge config: %w", err)
	}
	e, err := edge.New(edgeCfg.Edge, edge.Options{Logger: log, NewProcessor: pluginChain(ctx, edgeCfg.Edge, log, pluginCacheDir(edgeCfg.Edge), nil), Listener: edgeLn})
	if err != nil {
		return err
	}

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
`, targetLn.Addr(), series, interval, edgeLn.Addr(), cl.QUICAddr(), cloudLn.Addr(), filepath.Join(dir, "files"))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cl.Run(gctx) })
	g.Go(func() error { return e.Run(gctx) })
	g.Go(func() error {
		if err := targetSrv.Serve(targetLn); !errors.Is(err, http.ErrServerClosed) {
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
