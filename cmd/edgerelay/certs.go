package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

func certsCommand() *cli.Command {
	return &cli.Command{
		Name:  "certs",
		Usage: "write a CA, a cloud server pair and an edge client pair (PEM) for TLS and mTLS; again with --tenant and --site for another edge's pair",
		Description: "The edge pair names its tenant and site (URI SAN spiffe://TENANT/SITE, Subject O=TENANT, CN=SITE);\n" +
			"a cloud with client_ca_file set takes the edge's identity from it. Run again on a directory that\n" +
			"holds the CA, with --tenant and --site, to write edge-TENANT-SITE.pem and its key for another site.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR`", EnvVars: envs("out")},
			&cli.StringFlag{Name: "hosts", Value: "localhost,127.0.0.1", Usage: "comma-separated names and IPs of the cloud", EnvVars: envs("hosts")},
			&cli.StringFlag{Name: "tenant", Value: "acme", Usage: "the edge pair's `TENANT`", EnvVars: envs("tenant")},
			&cli.StringFlag{Name: "site", Value: "plant-7", Usage: "the edge pair's `SITE`", EnvVars: envs("site")},
		},
		Action: func(c *cli.Context) error {
			out, tenant, site := c.String("out"), c.String("tenant"), c.String("site")
			if !config.ValidName(tenant) || !config.ValidName(site) {
				return fmt.Errorf("--tenant and --site must be letters, digits, '-', '_' or '.'; got %q and %q", tenant, site)
			}
			if _, err := os.Stat(filepath.Join(out, tlsutil.CAFile)); err == nil {
				if !c.IsSet("tenant") && !c.IsSet("site") {
					return fmt.Errorf("%s already holds a CA; give --tenant and --site to add an edge pair: %w", out, fs.ErrExist)
				}
				certPath, keyPath, err := tlsutil.WriteEdgePair(out, tenant, site)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "wrote %s and %s (tenant %s, site %s)\n", certPath, keyPath, tenant, site)
				return nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			hosts := strings.Split(c.String("hosts"), ",")
			if err := tlsutil.WriteBundle(out, hosts, tenant, site); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote ca.pem, cloud.pem, cloud-key.pem, edge.pem, edge-key.pem (tenant %s, site %s) to %s\n", tenant, site, out)
			return nil
		},
	}
}
