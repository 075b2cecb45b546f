package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/edge"
)

// newPluginChain builds the edge's plugin chain; nil when none is configured.
func newPluginChain(ctx context.Context, cfg *config.Edge, log *slog.Logger) (edge.Processor, error) {
	if len(cfg.Plugins) == 0 {
		return nil, nil
	}
	return nil, errors.New("plugin chain is not wired yet")
}
