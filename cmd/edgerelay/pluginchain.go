package main

import (
	"context"
	"errors"
	"fmt"
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

// pluginCacheDir is where the edge keeps compiled plugin modules.
func pluginCacheDir(cfg *config.Edge) string { return filepath.Join(cfg.DataDir, "wasm-cache") }

// notifyModuleChange is the running chain's OnModuleChange: it asks the
// reload loop for a reload.
func notifyModuleChange(log *slog.Logger) func(paths []string) {
	return func(paths []string) {
		log.Info("plugin module file changed", "paths", paths)
		select {
		case pluginModulesChanged <- struct{}{}:
		default: // a reload is already pending
		}
	}
}

// pluginChain returns the constructor of the edge's plugin chain; nil when
// no plugin is configured. Compiled modules are cached in cacheDir ("" keeps
// them in memory); onChange, when set, watches the module files. An error
// names the stage's field: edge.plugins[i].module, .config, .clock, ...
func pluginChain(ctx context.Context, cfg *config.Edge, log *slog.Logger, cacheDir string, onChange func([]string)) edge.NewProcessor {
	if len(cfg.Plugins) == 0 {
		return nil
	}
	return func(reg prometheus.Registerer) (edge.Processor, error) {
		c, err := host.NewChain(ctx, cfg.Plugins, host.Options{
			CacheDir:       cacheDir,
			Logger:         log,
			Registerer:     reg,
			OnModuleChange: onChange,
		})
		var se *host.StageError
		switch {
		case err == nil:
			return c, nil
		case errors.As(err, &se) && se.Field != "":
			return nil, fmt.Errorf("edge.plugins[%d].%s: %w", se.Index, se.Field, se.Err)
		case errors.As(err, &se):
			return nil, fmt.Errorf("edge.plugins[%d] (%s): %w", se.Index, se.Name, se.Err)
		}
		return nil, fmt.Errorf("edge.plugins: %w", err)
	}
}
