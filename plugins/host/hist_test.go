package host

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/relay"
)

// TestHistogramsThroughChain: series-level stages (relabel, anonymize,
// filter) decide on a histogram series' labels like any series, and their
// decision carries its histogram samples and exemplars along; a
// sample-level stage that drops every float sample leaves histogram
// samples, and exemplars of series without float samples, in place.
func TestHistogramsThroughChain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	reg := prometheus.NewRegistry()
	c := newTestChain(t, reg,
		stageConf(t, "relabel", "builtin:relabel", `relabel_configs:
  - {source_labels: [__name__], regex: dropped_.*, action: drop}
  - {target_label: zone, replacement: eu}`),
		stageConf(t, "anonymize", "builtin:anonymize", `{labels: [user], key: k}`),
		stageConf(t, "filter", "builtin:filter", `{drop: ['{__name__="filtered"}']}`),
		stageConf(t, "dropsamples", "testdata/dropsamples.wasm", ""))
	ex := []relay.Exemplar{histtest.Exemplar(r, 1000), histtest.Exemplar(r, 1000)}
	hs := []relay.HistogramSample{histtest.Sample(r, 1000), histtest.Sample(r, 2000)}
	mixed := []relay.HistogramSample{histtest.Sample(r, 1000)}
	b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Series: []relay.Series{
		{Labels: labels.FromStrings("__name__", "latency", "user", "alice"), Histograms: hs, Exemplars: ex},
		{Labels: labels.FromStrings("__name__", "dropped_latency"), Histograms: []relay.HistogramSample{histtest.Sample(r, 1000)}},
		{Labels: labels.FromStrings("__name__", "filtered"), Histograms: []relay.HistogramSample{histtest.Sample(r, 1000)}, Exemplars: ex},
		{Labels: labels.FromStrings("__name__", "floats"), Samples: []relay.Sample{{T: 1000, V: 1}}, Exemplars: ex},
		{Labels: labels.FromStrings("__name__", "mixed"), Samples: []relay.Sample{{T: 1000, V: 1}}, Histograms: mixed},
		{Labels: labels.FromStrings("__name__", "only_exemplars"), Exemplars: ex},
	}}
	if err := c.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got := map[string]relay.Series{}
	for _, s := range b.Series {
		got[s.Labels.Get("__name__")] = s
	}
	if len(got) != 3 {
		t.Fatalf("series after the chain: %v", seriesStrings(b))
	}
	lat := got["latency"]
	if lat.Labels.Get("zone") != "eu" || lat.Labels.Get("user") == "alice" || lat.Labels.Get("user") == "" {
		t.Errorf("histogram series labels %s: want zone=eu and user anonymized", lat.Labels)
	}
	if d := histtest.DiffSamples(hs, lat.Histograms); d != "" {
		t.Errorf("latency histograms: %s", d)
	}
	if d := histtest.DiffExemplars(ex, lat.Exemplars); d != "" {
		t.Errorf("latency exemplars: %s", d)
	}
	if m := got["mixed"]; len(m.Samples) != 0 || histtest.DiffSamples(mixed, m.Histograms) != "" || m.Labels.Get("zone") != "eu" {
		t.Errorf("mixed series: %+v", m)
	}
	if e := got["only_exemplars"]; histtest.DiffExemplars(ex, e.Exemplars) != "" {
		t.Errorf("exemplar-only series: %+v", e)
	}
	// Per-stage sample counts include histogram samples.
	if in := testutil.ToFloat64(c.m.samplesIn.WithLabelValues("relabel")); in != 7 {
		t.Errorf("relabel samples in = %v, want 7 (2 floats, 5 histograms)", in)
	}
}
