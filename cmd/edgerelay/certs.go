package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

func certsCommand() *cli.Command {
	return &cli.Command{
		Name:  "certs",
		Usage: "write a CA, a cloud server pair and an edge client pair (PEM) for TLS and mTLS",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "output `DIR`", EnvVars: envs("out")},
			&cli.StringFlag{Name: "hosts", Value: "localhost,127.0.0.1", Usage: "comma-separated names and IPs of the cloud", EnvVars: envs("hosts")},
		},
		Action: func(c *cli.Context) error {
			hosts := strings.Split(c.String("hosts"), ",")
			if err := tlsutil.WriteBundle(c.String("out"), hosts); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote ca.pem, cloud.pem, cloud-key.pem, edge.pem, edge-key.pem to %s\n", c.String("out"))
			return nil
		},
	}
}
