package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/relay/cloud"
	"github.com/edgerelay/edgerelay/relay/edge"
	"github.com/edgerelay/edgerelay/relay/reload"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the roles configured in a file (edge:, cloud:, or both) until SIGINT/SIGTERM; SIGHUP reloads the file",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Required: true, Usage: "configuration `FILE`", EnvVars: envs("config")},
			&cli.BoolFlag{Name: "web.enable-lifecycle", Usage: "let POST /-/reload on the HTTP listeners reload the configuration (behind their authentication); without it the path answers 403 and only SIGHUP reloads", EnvVars: envs("web-enable-lifecycle")},
		},
		Action: func(c *cli.Context) error {
			log, err := logger(c)
			if err != nil {
				return err
			}
			// From here on SIGHUP reloads; it must not end the process
			// while it starts.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := loadConfig(ctx, c.String("config"), log, true)
			if err != nil {
				reportProblems(c.App.ErrWriter, err)
				return errReported
			}
			if cfg.Edge == nil && cfg.Cloud != nil {
				liftDefaultLimit(log)
			}
			if cfg.Cloud == nil && cfg.Edge != nil {
				setEdgeGC(log)
			}
			rl := &reloader{path: c.String("config"), running: cfg, log: log}
			return runRoles(ctx, rl, c.Bool("web.enable-lifecycle"), hup)
		},
	}
}

// runRoles starts the configured roles, cloud first so a local edge finds
// it, and stops them in reverse order. hup delivers SIGHUP.
func runRoles(ctx context.Context, rl *reloader, lifecycle bool, hup <-chan os.Signal) error {
	cfg, log := rl.running, rl.log
	rel := reload.New(func(context.Context) error { return rl.reload(ctx) }, lifecycle, log)
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Cloud != nil {
		cl, err := cloud.New(cfg.Cloud, cloud.Options{Logger: log, Reloader: rel})
		if err != nil {
			return fmt.Errorf("cloud: %w", err)
		}
		rl.cloud = cl
		g.Go(func() error { return cl.Run(gctx) })
	}
	if cfg.Edge != nil {
		chain := pluginChain(gctx, cfg.Edge, log, pluginCacheDir(cfg.Edge), notifyModuleChange(log))
		e, err := edge.New(cfg.Edge, edge.Options{Logger: log, NewProcessor: chain, Reloader: rel})
		if err != nil {
			return fmt.Errorf("edge: %w", err)
		}
		rl.edge = e
		g.Go(func() error { return e.Run(gctx) })
	}
	g.Go(func() error { reloadOnSignal(gctx, rel, hup, log); return nil })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// reloadOnSignal reloads on SIGHUP, or when a .wasm file of the running
// plugin chain changed, until ctx is done.
func reloadOnSignal(ctx context.Context, rel *reload.Reloader, hup <-chan os.Signal, log *slog.Logger) {
	for {
		trigger := "SIGHUP"
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-pluginModulesChanged:
			log.Info("a plugin module changed on disk; reloading")
			trigger = "plugin module changed"
		}
		_ = rel.Reload(ctx, trigger) // logged and recorded by rel
	}
}
