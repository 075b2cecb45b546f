package ingest

import (
	"sync"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
)

// Shard decides which targets this scraper scrapes when several edges
// share one scrape_configs (package relay/scrapeshard implements it). It
// is asked about each target's labels after relabel_configs, as its up
// series carries them, every time targets are discovered or Reshard is
// called; it must be safe for concurrent use.
type Shard interface {
	Owns(target labels.Labels) bool
}

// ShardCounts are the targets of the running jobs, after relabelling:
// those this scraper scrapes and those its Shard leaves to other edges.
type ShardCounts struct{ Scraped, Elsewhere int }

// shardState holds the Shard and what it decided per job. Safe for
// concurrent use.
type shardState struct {
	shard Shard // nil: every target is scraped

	mu   sync.Mutex
	jobs map[string]ShardCounts
}

// owns reports whether the target t is this scraper's.
func (s *shardState) owns(t *scrape.Target, lb *labels.Builder) bool {
	if s == nil || s.shard == nil {
		return true
	}
	return s.shard.Owns(t.Labels(lb))
}

// note records job's counts; forget drops the jobs not in keep.
func (s *shardState) note(job string, c ShardCounts) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]ShardCounts{}
	}
	s.jobs[job] = c
}

func (s *shardState) forget(keep map[string]bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for job := range s.jobs {
		if !keep[job] {
			delete(s.jobs, job)
		}
	}
}

func (s *shardState) counts() ShardCounts {
	var c ShardCounts
	if s == nil {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, jc := range s.jobs {
		c.Scraped += jc.Scraped
		c.Elsewhere += jc.Elsewhere
	}
	return c
}

// ownTargets removes from fresh (a job's targets by targetKey) those the
// Shard leaves to other edges, records the job's counts and returns the
// keys it removed: a loop of one of those that runs now stops without
// end-of-run staleness markers, since another edge scrapes its series on.
func (s *shardState) ownTargets(job string, fresh map[uint64]*scrape.Target) map[uint64]bool {
	if s == nil || s.shard == nil {
		return nil
	}
	lb := labels.NewBuilder(labels.EmptyLabels())
	moved := map[uint64]bool{}
	for k, t := range fresh {
		if !s.owns(t, lb) {
			moved[k] = true
			delete(fresh, k)
		}
	}
	s.note(job, ShardCounts{Scraped: len(fresh), Elsewhere: len(moved)})
	return moved
}

// filterGroups returns groups with only the targets the Shard gives this
// scraper, for a job Prometheus' scrape manager runs (it relabels them
// again itself). A target relabelling drops, or that fails to build, is
// kept: the manager drops or reports it as it would without sharding.
// Targets moved away get end-of-run staleness markers there.
func (s *shardState) filterGroups(cfg *promconfig.ScrapeConfig, groups []*targetgroup.Group) []*targetgroup.Group {
	if s == nil || s.shard == nil || cfg == nil {
		return groups
	}
	lb := labels.NewBuilder(labels.EmptyLabels())
	out := make([]*targetgroup.Group, 0, len(groups))
	var c ShardCounts
	for _, g := range groups {
		if g == nil {
			continue
		}
		ng := &targetgroup.Group{Labels: g.Labels, Source: g.Source}
		for _, tl := range g.Targets {
			lset, err := scrape.PopulateLabels(lb, cfg, tl, g.Labels)
			if err != nil || lset.IsEmpty() {
				ng.Targets = append(ng.Targets, tl)
				continue
			}
			t := scrape.NewTarget(lset, cfg, tl, g.Labels)
			if s.owns(t, lb) {
				c.Scraped++
				ng.Targets = append(ng.Targets, tl)
			} else {
				c.Elsewhere++
			}
		}
		out = append(out, ng)
	}
	s.note(cfg.JobName, c)
	return out
}
