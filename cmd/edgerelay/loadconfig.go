package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/edgerelay/edgerelay/relay/cloud"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/edge"
)

// loadConfig is how run, check-config and a reload read a configuration
// file, so that they accept and refuse the same files with the same words:
// config.Load (schema, defaults, Prometheus' own validation of its parts),
// then each role's Check, which does everything starting the role does
// short of binding sockets and opening the queue (every file it refers to
// is read, every plugin compiled and instantiated with its config, every
// HTTP client built). The error joins one error per problem, each naming
// the field. forRun compiles plugin modules into the edge's cache in
// data_dir, where the chain run builds next finds them; otherwise they stay
// in memory and nothing is written.
func loadConfig(ctx context.Context, path string, log *slog.Logger, forRun bool) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	var errs []error
	if cfg.Cloud != nil {
		errs = append(errs, cloud.Check(cfg.Cloud, log))
	}
	if e := cfg.Edge; e != nil {
		cacheDir := ""
		if forRun {
			cacheDir = pluginCacheDir(e)
		}
		errs = append(errs, edge.Check(ctx, e, edge.Options{Logger: log, NewProcessor: pluginChain(ctx, e, log, cacheDir, nil)}))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// reportProblems writes err one line per problem.
func reportProblems(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, line)
	}
}
