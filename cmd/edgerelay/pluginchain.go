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

// pluginModulesChanged receives a value when a .wasm file of the running
// plugin chain changed (each chain polls its files every
// host.DefaultModulePoll); the reload loop treats it as a SIGHUP. A reload
// that fails keeps the running chain, which does not report the same file
// contents again.
var pluginModulesChanged = make(chan struct{}, 1)

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
			OnModuleChange: func(paths []string) {
				log.Info("plugin module file changed", "paths", paths)
				select {
				case pluginModulesChanged <- struct{}{}:
				default: // a reload is already pending
				}
			},
		})
	}
}
