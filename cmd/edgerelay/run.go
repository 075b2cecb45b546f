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
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/edge"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the roles configured in a file (edge:, cloud:, or both) until SIGINT/SIGTERM",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Required: true, Usage: "configuration `FILE`", EnvVars: envs("config")},
		},
		Action: func(c *cli.Context) error {
			log, err := logger(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg, err := loadConfig(ctx, c.String("config"), log, true)
			if err != nil {
				reportProblems(c.App.ErrWriter, err)
				return errReported
			}
			return runRoles(ctx, c.String("config"), cfg, log)
		},
	}
}

// runRoles starts the configured roles, cloud first so a local edge finds
// it, and stops them in reverse order.
func runRoles(ctx context.Context, path string, cfg *config.Config, log *slog.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Cloud != nil {
		cl, err := cloud.New(cfg.Cloud, cloud.Options{Logger: log})
		if err != nil {
			return fmt.Errorf("cloud: %w", err)
		}
		g.Go(func() error { return cl.Run(gctx) })
	}
	if cfg.Edge != nil {
		chain := pluginChain(gctx, cfg.Edge, log, pluginCacheDir(cfg.Edge), notifyModuleChange(log))
		e, err := edge.New(cfg.Edge, edge.Options{Logger: log, NewProcessor: chain})
		if err != nil {
			return fmt.Errorf("edge: %w", err)
		}
		g.Go(func() error { return e.Run(gctx) })
		g.Go(func() error { reloadOnHUP(gctx, path, e, log); return nil })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// reloadOnHUP re-reads the configuration on SIGHUP, or when a .wasm file of
// the running plugin chain changed, checks it as run does (loadConfig), and
// applies the edge's scrape_configs
// and plugin chain. A file that does not load, or a chain that does not
// build, leaves everything running as it was.
func reloadOnHUP(ctx context.Context, path string, e *edge.Edge, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-pluginModulesChanged:
			log.Info("a plugin module changed on disk; reloading")
		}
		cfg, err := loadConfig(ctx, path, log, true)
		if err == nil && cfg.Edge == nil {
			err = errors.New("the file has no edge: section any more")
		}
		if err != nil {
			log.Error("reload failed; keeping the running configuration", "err", err)
			continue
		}
		var proc edge.Processor
		if newProc := pluginChain(ctx, cfg.Edge, log, pluginCacheDir(cfg.Edge), notifyModuleChange(log)); newProc != nil {
			if proc, err = newProc(e.Registry()); err != nil {
				log.Error("reload failed: plugin chain does not load; keeping the running one", "err", err)
				continue
			}
		}
		if err := e.Reload(ctx, cfg.Edge, proc); err != nil {
			log.Error("reload failed", "err", err)
		}
	}
}
