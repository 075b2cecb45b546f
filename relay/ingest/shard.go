package ingest

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"
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
func (s *shardState) owns(t *Target, lb *labels.Builder) bool {
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
func (s *shardState) ownTargets(job string, fresh map[uint64]*Target) map[uint64]bool {
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
