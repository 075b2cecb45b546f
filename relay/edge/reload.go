package edge

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/config"
)

// procBox lets a nil processor be stored atomically.
type procBox struct{ p Processor }

// ReplaceProcessor swaps the plugin chain (on reload); batches in flight
// finish on the old chain, which is closed once they are done with it.
func (e *Edge) ReplaceProcessor(ctx context.Context, p Processor) {
	old := e.proc.Swap(&procBox{p: p})
	// Wait for batches that picked up the old chain before the swap.
	e.procMu.Lock()
	e.procMu.Unlock() //nolint:staticcheck // an empty critical section is the point

	if old.p != nil {
		if err := old.p.Close(ctx); err != nil {
			e.log.Warn("closing the old plugin chain", "err", err)
		}
	}
}

// Reload applies the keys config.Reloadable names for the edge:
// scrape_configs (new jobs start, removed ones stop, changed ones
// restart), the plugin chain (proc, built by the caller from cfg; nil
// removes the chain; batches in flight finish on the old one) and
// external_labels (with delta encoding the next group commit starts a new
// generation, full frames under the new labels). The caller has checked
// with config.RestartOnly that nothing else changed. The queue and the
// uplink connection are untouched. On error nothing is applied and proc is
// closed.
func (e *Edge) Reload(ctx context.Context, cfg *config.Edge, proc Processor) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if s := e.scraper.Load(); s != nil {
		if err := s.ApplyConfig(cfg.Scrape); err != nil {
			if proc != nil {
				proc.Close(ctx)
			}
			return fmt.Errorf("edge.scrape_configs: %w", err)
		}
	}
	e.ReplaceProcessor(ctx, proc)
	if extra := siteLabels(cfg); !labels.Equal(extra, *e.extra.Load()) {
		e.extra.Store(&extra)
		if e.com.delta != nil {
			e.com.delta.setExtra(extra)
		}
		e.log.Info("external labels changed", "labels", extra.String())
	}
	e.live.Store(cfg)
	return nil
}
