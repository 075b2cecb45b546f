package edge

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// reportScan is how many series at the end of a scrape batch are looked at
// for its report series: the scrape loop appends them after the target's
// own (up, scrape_duration_seconds, scrape_samples_scraped,
// scrape_samples_post_metric_relabeling, scrape_series_added, and a few
// more with extra scrape metrics).
const reportScan = 16

// targetStates keeps, for the status page, what the last scrape of each
// target said about itself in its report series, the way Prometheus'
// /targets shows it: up or down, when, how long, how many samples, and
// for a target down since when (the status page asks the scraper why:
// ingest.Scraper.LastErrors). Safe for concurrent use.
type targetStates struct {
	mu sync.Mutex
	m  map[target]*targetState // by job and instance as scraped
}

type targetState struct {
	up        bool
	last      time.Time // the scrape's timestamp
	duration  float64   // seconds
	samples   float64   // scraped, before metric_relabel_configs
	downSince time.Time // zero while up
	seen      time.Time // when the edge took the batch
}

func newTargetStates() *targetStates { return &targetStates{m: map[target]*targetState{}} }

// note takes scrape batch b's report series, before the plugin chain sees
// it. A batch without an up series (stale markers of a target gone) is
// left out.
func (ts *targetStates) note(b *relay.Batch) {
	up, dur, n := math.NaN(), math.NaN(), math.NaN()
	for i := len(b.Series) - 1; i >= 0 && i >= len(b.Series)-reportScan; i-- {
		s := &b.Series[i]
		if len(s.Samples) != 1 || value.IsStaleNaN(s.Samples[0].V) {
			continue
		}
		switch s.Labels.Get("__name__") {
		case "up":
			up = s.Samples[0].V
		case "scrape_duration_seconds":
			dur = s.Samples[0].V
		case "scrape_samples_scraped":
			n = s.Samples[0].V
		}
	}
	if math.IsNaN(up) {
		return
	}
	now := time.Now()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	k := target{b.Job, b.Instance}
	st := ts.m[k]
	if st == nil {
		st = &targetState{}
		ts.m[k] = st
	}
	if up == 1 {
		st.downSince = time.Time{}
	} else if st.up || st.downSince.IsZero() {
		st.downSince = time.UnixMilli(b.Timestamp)
	}
	st.up, st.last, st.duration, st.samples, st.seen = up == 1, time.UnixMilli(b.Timestamp), dur, n, now
}

// targetRow is one target as the status page lists it.
type targetRow struct {
	job, instance string
	targetState
}

// list returns the targets of jobs, sorted by job and instance, and
// forgets those of other jobs (removed by a reload) and those not scraped
// for 10 minutes (gone from discovery).
func (ts *targetStates) list(jobs map[string]bool) []targetRow {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []targetRow
	for k, st := range ts.m {
		if !jobs[k.job] || time.Since(st.seen) > 10*time.Minute {
			delete(ts.m, k)
			continue
		}
		out = append(out, targetRow{k.job, k.instance, *st})
	}
	slices.SortFunc(out, func(a, b targetRow) int {
		if c := strings.Compare(a.job, b.job); c != 0 {
			return c
		}
		return strings.Compare(a.instance, b.instance)
	})
	return out
}
