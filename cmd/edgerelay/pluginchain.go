package main

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/plugins/host"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/edge"
)

// pluginChain returns the constructor of the edge's plugin chain; nil when
// no plugin is configured. Compiled modules are cached under data_dir.
func pluginChain(ctx context.Context, cfg *config.Edge, log *slog.Logger) edge.NewProcessor {
	if len(cfg.Plugins) == 0 {
		return nil
	}
	return func(reg prometheus.Registerer) (edge.Processor, error) {
		return host.NewChain(ctx, cfg.Plugins, host.Options{
			CacheDir:   filepath.Join(cfg.DataDir, "wasm-cache"),
			Logger:     log,
			Registerer: reg,
		})
	}
}
