package edge

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/scrapeshard"
	"github.com/edgerelay/edgerelay/relay/status"
)

// scrapeShard is this edge's share of a scrape_configs shared with other
// edges of the site (edge.scrape_shard): the ingest.Shard the scraper
// asks, and, for a membership that changes, what keeps it current.
type scrapeShard struct {
	shard ingest.Shard
	desc  string // for the status page
	// run, when set, keeps the share current until ctx ends, calling
	// reshard whenever it changed.
	run func(ctx context.Context, reshard func()) error
}

// newScrapeShard builds the share edge.scrape_shard describes, nil
// without one, and registers its metrics on reg:
//   - edgerelay_shard_targets{state="scraped"|"elsewhere"}: targets of
//     the running jobs, after relabelling, this edge scrapes and those it
//     leaves to the other edges;
//   - edgerelay_shard_members: edges sharing the targets (count, or the
//     live members in etcd).
func (e *Edge) newScrapeShard(cfg *config.Edge) (*scrapeShard, error) {
	sc := cfg.ScrapeShard
	if sc == nil {
		return nil, nil
	}
	members := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "edgerelay_shard_members",
		Help: "Edges sharing this edge's scrape_configs: edge.scrape_shard.count, or the live members in etcd.",
	})
	var s *scrapeShard
	if sc.Etcd == nil {
		s = &scrapeShard{shard: scrapeshard.Static{Index: sc.Index, Count: sc.Count},
			desc: fmt.Sprintf("static: share %d of %d (edge.scrape_shard)", sc.Index, sc.Count)}
		members.Set(float64(sc.Count))
	} else {
		var err error
		if s, err = e.newEtcdShard(sc.Etcd, members); err != nil {
			return nil, err
		}
	}
	counts := func(state string, pick func(ingest.ShardCounts) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "edgerelay_shard_targets",
			Help:        "Targets of the running scrape jobs, after relabelling: scraped by this edge, or left to the other edges sharing its scrape_configs.",
			ConstLabels: prometheus.Labels{"state": state},
		}, func() float64 {
			if sc := e.scraper.Load(); sc != nil {
				return float64(pick(sc.ShardCounts()))
			}
			return 0
		})
	}
	e.reg.MustRegister(members,
		counts("scraped", func(c ingest.ShardCounts) int { return c.Scraped }),
		counts("elsewhere", func(c ingest.ShardCounts) int { return c.Elsewhere }))
	return s, nil
}

// shardSection is the status page's line on the scrape shard.
func (e *Edge) shardSection(f status.Figures) status.Section {
	return status.Section{Title: "Scrape shard", Rows: []status.Row{
		status.R("share", e.shard.desc),
		f.M("edges sharing the targets", "edgerelay_shard_members"),
		f.M("targets scraped here", status.Key("edgerelay_shard_targets", "state", "scraped")),
		f.M("targets scraped by the others", status.Key("edgerelay_shard_targets", "state", "elsewhere")),
	}}
}

// shardFilter is the Shard the scraper asks; nil scrapes every target.
func (e *Edge) shardFilter() ingest.Shard {
	if e.shard == nil {
		return nil
	}
	return e.shard.shard
}
