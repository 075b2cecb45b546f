package ingest

import (
	"github.com/prometheus/common/model"
)

// TargetID names a scrape target as its batches do: its job and instance
// labels.
type TargetID struct{ Job, Instance string }

// LastErrors returns why each target whose last scrape failed failed, as
// Prometheus' /targets shows it in its error column: the fetch error, a
// limit, a body that did not parse. Targets whose last scrape succeeded are
// left out. Safe for concurrent use.
func (s *Scraper) LastErrors() map[TargetID]string {
	out := map[TargetID]string{}
	note := func(t *Target) {
		if err := t.LastError(); err != nil {
			out[TargetID{t.GetValue(model.JobLabel), t.GetValue(model.InstanceLabel)}] = err.Error()
		}
	}
	s.own.mu.Lock()
	defer s.own.mu.Unlock()
	for _, p := range s.own.pools {
		for _, t := range p.targets {
			note(t)
		}
	}
	return out
}
