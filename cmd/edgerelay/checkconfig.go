package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/edgerelay/edgerelay/relay/config"
)

func checkConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-config",
		Usage:     "validate a configuration file: exit 0 when valid, 1 with one line per problem",
		ArgsUsage: "FILE",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("check-config takes one FILE")
			}
			path := c.Args().First()
			cfg, err := config.Load(path)
			if err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintln(c.App.ErrWriter, line)
				}
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
