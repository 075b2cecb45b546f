package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/edgerelay/edgerelay/relay/cloud"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/edge"
)

// reloader applies a changed configuration file to the running roles. Its
// reload is the reload.Func of the process: one at a time.
type reloader struct {
	path    string
	log     *slog.Logger
	running *config.Config // the configuration last applied
	edge    *edge.Edge     // nil without an edge: section
	cloud   *cloud.Cloud   // nil without a cloud: section
}

// reload reads the file as run does (loadConfig: every check of
// check-config), refuses a change of a key only a restart applies, naming
// it, builds the new plugin chain, and then applies the cloud's and the
// edge's reloadable keys (config.Reloadable). A failure before the apply
// changes nothing; the running configuration stays.
func (r *reloader) reload(ctx context.Context) error {
	cfg, err := loadConfig(ctx, r.path, r.log, true)
	if err != nil {
		return err
	}
	if keys := config.RestartOnly(r.running, cfg); len(keys) > 0 {
		return fmt.Errorf("config %s: %s cannot change while edgerelay runs (restart to apply it); reloadable are %s",
			r.path, strings.Join(keys, ", "), strings.Join(config.Reloadable, ", "))
	}
	var proc edge.Processor
	if r.edge != nil {
		if newProc := pluginChain(ctx, cfg.Edge, r.log, pluginCacheDir(cfg.Edge), notifyModuleChange(r.log)); newProc != nil {
			if proc, err = newProc(r.edge.Registry()); err != nil {
				return fmt.Errorf("plugin chain does not load: %w", err)
			}
		}
	}
	if r.cloud != nil {
		if err := r.cloud.Reload(cfg.Cloud); err != nil {
			if proc != nil {
				proc.Close(ctx)
			}
			return err
		}
	}
	if r.edge != nil {
		if err := r.edge.Reload(ctx, cfg.Edge, proc); err != nil {
			return err
		}
	}
	r.running = cfg
	return nil
}
