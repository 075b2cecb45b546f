package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"
)

func checkConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-config",
		Usage:     "check a configuration file as run does, short of binding sockets and opening the queue: exit 0 when valid, 1 with one line per problem",
		ArgsUsage: "FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("check-config takes one FILE")
			}
			path := c.Args().First()
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
			cfg, err := loadConfig(c.Context, path, log, false)
			if err != nil {
				reportProblems(c.App.ErrWriter, err)
				return errReported
			}
			var roles []string
			if cfg.Edge != nil {
				roles = append(roles, fmt.Sprintf("edge (tenant %s, site %s, %d scrape jobs, %d plugins)",
					cfg.Edge.Tenant, cfg.Edge.Site, len(cfg.Edge.Scrape), len(cfg.Edge.Plugins)))
			}
			if cfg.Cloud != nil {
				roles = append(roles, fmt.Sprintf("cloud (quic %s, http %s)", cfg.Cloud.QUICListen, cfg.Cloud.HTTPListen))
			}
			fmt.Fprintf(c.App.Writer, "%s: valid: %s\n", path, strings.Join(roles, "; "))
			return nil
		},
	}
}
