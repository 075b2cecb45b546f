package ingest

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/relay"
)

// nativeTarget serves a client_golang registry holding a native histogram
// with exemplars (observations on both sides of zero and in the zero
// bucket) and a gauge, through promhttp on 127.0.0.1.
func nativeTarget(t *testing.T) (*prometheus.Registry, string) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "req_latency_seconds", Help: "Request latency.",
		NativeHistogramBucketFactor: 1.1, NativeHistogramZeroThreshold: 1e-6,
	})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "temp_celsius", Help: "Temperature."})
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "reqs_total", Help: "Requests."})
	reg.MustRegister(h, g, c)
	g.Set(21.5)
	c.(prometheus.ExemplarAdder).AddWithExemplar(3, prometheus.Labels{"trace_id": "c0ffee"})
	for i, v := range []float64{0.003, 0.2, 0.2, 1.7, -0.5, 0, 42, 1e-9} {
		h.Observe(v)
		if i%3 == 0 {
			h.(prometheus.ExemplarObserver).ObserveWithExemplar(v*2, prometheus.Labels{"trace_id": strings.Repeat("ab", i+1)})
		}
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return reg, strings.TrimPrefix(srv.URL, "http://")
}

// TestScrapeNativeHistogram: with scrape_native_histograms on (the scraper
// then negotiates the protobuf format, as Prometheus does), the batch holds
// exactly the native histogram and exemplars the registry's Gather returns.
func TestScrapeNativeHistogram(t *testing.T) {
	for _, tc := range []struct{ name, extra string }{
		{"scrape_native_histograms", "  scrape_native_histograms: true\n"},
		{"scrape_protocols", "  scrape_native_histograms: true\n  scrape_protocols: [PrometheusProto]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, addr := nativeTarget(t)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var wantH *relay.HistogramSample
			var wantEx []relay.Exemplar
			for _, mf := range mfs {
				if mf.GetName() == "req_latency_seconds" {
					h, ex := histtest.FromDTO(mf.GetMetric()[0], false)
					wantH, wantEx = &relay.HistogramSample{H: h}, ex
					// Prometheus' scrape loop appends them in this order.
					slices.SortFunc(wantEx, exemplar.Compare)
				}
			}
			if len(wantEx) == 0 || len(wantH.H.NegativeBuckets) == 0 || wantH.H.ZeroCount == 0 {
				t.Fatalf("registry exposes too little to test: %+v %v", wantH.H, wantEx)
			}
			sink := newRecordingSink()
			runScraper(t, sink, prometheus.NewRegistry(), "scrape_configs:"+staticJob("native", addr)+tc.extra)
			// The first scrape that succeeded: on a loaded machine one may
			// time out, and holds only the report series.
			hasHistogram := func(b *relay.Batch) bool {
				return slices.ContainsFunc(b.Series, func(s relay.Series) bool { return s.Labels.Get("__name__") == "req_latency_seconds" })
			}
			bs := sink.waitFor(t, 10*time.Second, "a scrape with the histogram", func(bs []*relay.Batch) bool {
				return slices.ContainsFunc(bs, hasHistogram)
			})
			b := bs[slices.IndexFunc(bs, hasHistogram)]
			var got *relay.Series
			for i := range b.Series {
				if b.Series[i].Labels.Get("__name__") == "req_latency_seconds" {
					got = &b.Series[i]
				}
			}
			if got == nil {
				t.Fatalf("no req_latency_seconds series in %d series", len(b.Series))
			}
			wantLabels := labels.FromStrings("__name__", "req_latency_seconds", "instance", addr, "job", "native", "site", "lab")
			if !labels.Equal(got.Labels, wantLabels) {
				t.Errorf("labels %s, want %s", got.Labels, wantLabels)
			}
			wantH.T = b.Timestamp
			if d := histtest.DiffSamples([]relay.HistogramSample{*wantH}, got.Histograms); d != "" || len(got.Samples) != 0 {
				t.Errorf("histogram: %s (float samples %v)", d, got.Samples)
			}
			if d := histtest.DiffExemplars(wantEx, got.Exemplars); d != "" {
				t.Errorf("exemplars: %s", d)
			}
			if m := b.Metadata["req_latency_seconds"]; m.Type != "histogram" || m.Help != "Request latency." {
				t.Errorf("metadata %+v", m)
			}
			for _, sr := range b.Series {
				if sr.Labels.Get("__name__") == "reqs_total" {
					if len(sr.Exemplars) != 1 || sr.Exemplars[0].Labels.Get("trace_id") != "c0ffee" || sr.Exemplars[0].Value != 3 || !sr.Exemplars[0].HasTs {
						t.Errorf("counter exemplars %v", sr.Exemplars)
					}
				}
			}
			if s, ok := find(b, "temp_celsius"); !ok || s.V != 21.5 {
				t.Errorf("temp_celsius = %+v (found %v)", s, ok)
			}
		})
	}
}
