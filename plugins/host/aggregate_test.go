package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// TestAggregateInChain runs builtin:aggregate as a chain stage on scrapes
// of two targets: with keep_input false the scrapes keep nothing of the
// aggregated metric, the sum per job ships apart (TakeDerived) with its
// metadata once the window closed, and max_series bounds its outputs.
func TestAggregateInChain(t *testing.T) {
	reg := prometheus.NewRegistry()
	pc := stageConf(t, "agg", "builtin:aggregate", `{interval: 1m, by: [job], outputs: [sum], keep_input: false, delay: 0s, match: ['{__name__="reqs"}']}`)
	c := newTestChain(t, reg, pc)
	scrape := func(inst string, ts int64, v float64) *relay.Batch {
		b := &relay.Batch{Scrape: true, Job: "api", Instance: inst, Timestamp: ts, TargetLabels: labels.FromStrings("job", "api", "instance", inst)}
		b.Series = []relay.Series{
			{Labels: labels.FromStrings("__name__", "reqs", "job", "api", "instance", inst), Samples: []relay.Sample{{T: ts, V: v}}},
			{Labels: labels.FromStrings("__name__", "up", "job", "api", "instance", inst), Samples: []relay.Sample{{T: ts, V: 1}}},
		}
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if len(b.Series) != 1 || b.Series[0].Labels.Get("__name__") != "up" || b.Job != "api" || b.Instance != inst {
			t.Fatalf("scrape of %s left %v (job %q instance %q); want only up", inst, seriesStrings(b), b.Job, b.Instance)
		}
		return b
	}
	scrape("a", 10_000, 3)
	scrape("b", 20_000, 4)
	if d := c.TakeDerived(); d != nil {
		t.Fatalf("emitted before the window closed: %v", d.Series)
	}
	scrape("a", 70_000, 5)
	d := c.TakeDerived()
	if d == nil || len(d.Series) != 1 || d.Scrape {
		t.Fatalf("TakeDerived = %+v; want one series", d)
	}
	s := d.Series[0]
	if want := `{__name__="reqs:1m_by_job_sum", job="api"}`; s.Labels.String() != want || len(s.Samples) != 1 || s.Samples[0] != (relay.Sample{T: 60_000, V: 7}) {
		t.Fatalf("got %s %v; want %s 60000@7", s.Labels, s.Samples, want)
	}
	if md := d.Metadata["reqs:1m_by_job_sum"]; md.Type != "gauge" {
		t.Errorf("metadata = %+v", md)
	}
	if got := testutil.ToFloat64(c.m.emitted.WithLabelValues("agg")); got != 1 {
		t.Errorf("emitted_samples_total = %v; want 1", got)
	}
}

// TestAggregateBounded: an aggregation making more output series than
// limits.max_series fails the call (kind limit) and fail_open passes the
// batch on unchanged.
func TestAggregateBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	pc := stageConf(t, "agg", "builtin:aggregate", `{interval: 1m, by: [instance], outputs: [sum], delay: 0s}`)
	pc.Limits.MaxSeries = 3
	c := newTestChain(t, reg, pc)
	b := &relay.Batch{}
	for i := range 5 {
		b.Series = append(b.Series, relay.Series{Labels: labels.FromStrings("__name__", "x", "instance", string(rune('a'+i))), Samples: []relay.Sample{{T: 1000, V: 1}, {T: 61_000, V: 1}}})
	}
	if err := c.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Series) != 5 || b.Samples() != 10 {
		t.Fatalf("fail_open: %d series, %d samples; want the batch unchanged", len(b.Series), b.Samples())
	}
	if got := testutil.ToFloat64(c.m.errors.WithLabelValues("agg", "limit")); got != 1 {
		t.Errorf("errors_total{kind=limit} = %v; want 1", got)
	}
}

// TestRulesInChain runs builtin:rules from a rule file given as
// rules_file: the input passes, the recorded series ship apart.
func TestRulesInChain(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules.yml")
	rules := "groups:\n  - name: g\n    interval: 30s\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n"
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newTestChain(t, nil, stageConf(t, "rules", "builtin:rules", "{rules_file: "+file+", delay: 0s}"))
	for _, ts := range []int64{10_000, 40_000} {
		b := batchOf(labels.FromStrings("__name__", "up", "job", "node", "instance", "a:9100"))
		b.Series[0].Samples[0].T = ts
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if len(b.Series) != 1 {
			t.Fatalf("the scrape kept %v", seriesStrings(b))
		}
	}
	d := c.TakeDerived()
	if d == nil || len(d.Series) != 1 || d.Series[0].Labels.String() != `{__name__="job:up:sum", job="node"}` ||
		d.Series[0].Samples[0] != (relay.Sample{T: 30_000, V: 0}) {
		t.Fatalf("TakeDerived = %+v; want job:up:sum 0 at 30s", d)
	}
}
