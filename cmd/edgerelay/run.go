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
			cfg, err := config.Load(c.String("config"))
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runRoles(ctx, cfg, log)
		},
	}
}

// runRoles starts the configured roles, cloud first so a local edge finds
// it, and stops them in reverse order.
func runRoles(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Cloud != nil {
		cl, err := cloud.New(cfg.Cloud, cloud.Options{Logger: log})
		if err != nil {
			return fmt.Errorf("cloud: %w", err)
		}
		g.Go(func() error { return cl.Run(gctx) })
	}
	if cfg.Edge != nil {
		e, err := edge.New(cfg.Edge, edge.Options{Logger: log, NewProcessor: pluginChain(gctx, cfg.Edge, log)})
		if err != nil {
			return fmt.Errorf("edge: %w", err)
		}
		g.Go(func() error { return e.Run(gctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
