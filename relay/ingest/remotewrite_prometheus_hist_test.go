package ingest

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

// TestRemoteWriteNativeHistogramsFromPrometheus: a real Prometheus (native
// histograms and exemplar storage on) scrapes a client_golang target and
// remote-writes to the handler with send_native_histograms and
// send_exemplars: the batch holds exactly the native histogram the
// registry's Gather returns, any exemplar Prometheus sends with it is one
// the target served, and a counter's exemplar arrives exactly.
func TestRemoteWriteNativeHistogramsFromPrometheus(t *testing.T) {
	promtest.Require(t, "it sends the native histograms this test checks")
	reg, targetAddr := nativeTarget(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var want relay.HistogramSample
	var wantEx []exemplar.Exemplar
	var counterEx exemplar.Exemplar
	for _, mf := range mfs {
		switch mf.GetName() {
		case "req_latency_seconds":
			want.H, wantEx = histtest.FromDTO(mf.GetMetric()[0], false)
		case "reqs_total":
			e := mf.GetMetric()[0].GetCounter().GetExemplar()
			counterEx = exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "c0ffee"), Value: e.GetValue(),
				Ts: e.GetTimestamp().AsTime().UnixMilli(), HasTs: true}
		}
	}

	sink := newRecordingSink()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", NewRemoteWriteHandler(sink, RemoteWriteConfig{Registerer: prometheus.NewRegistry()}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	promtest.Start(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
- job_name: native
  static_configs: [{targets: [%q]}]
remote_write:
- url: http://%s/api/v1/write
  send_native_histograms: true
  send_exemplars: true
  queue_config: {batch_send_deadline: 1s, min_backoff: 100ms}
`, targetAddr, ln.Addr()), "--enable-feature=native-histograms,exemplar-storage")

	var got, counter *relay.Series
	sink.waitFor(t, 25*time.Second, "req_latency_seconds as a native histogram, reqs_total's exemplar", func(bs []*relay.Batch) bool {
		for _, b := range bs {
			for i := range b.Series {
				s := &b.Series[i]
				switch name := s.Labels.Get("__name__"); {
				case name == "req_latency_seconds" && len(s.Histograms) > 0:
					got = s
				case name == "reqs_total" && len(s.Exemplars) > 0:
					counter = s
				}
			}
		}
		return got != nil && counter != nil
	})
	if d := histtest.DiffExemplars([]exemplar.Exemplar{counterEx}, counter.Exemplars[:1]); d != "" {
		t.Errorf("counter exemplar from Prometheus: %s", d)
	}
	if len(got.Samples) != 0 || got.Labels.Get("job") != "native" {
		t.Errorf("series %s with %d float samples", got.Labels, len(got.Samples))
	}
	h := got.Histograms[0]
	if h.FH != nil {
		t.Fatalf("an integer histogram arrived as a float one: %v", h.FH)
	}
	// Prometheus' TSDB sets the counter reset hint of what it stores; the
	// rest is what the target served, field for field.
	want.T, want.H.CounterResetHint = h.T, h.H.CounterResetHint
	if d := histtest.DiffSamples([]relay.HistogramSample{want}, got.Histograms[:1]); d != "" {
		t.Errorf("histogram from Prometheus: %s", d)
	}
	for _, e := range got.Exemplars {
		if !slices.ContainsFunc(wantEx, e.Equals) {
			t.Errorf("exemplar %v was not served by the target (%v)", e, wantEx)
		}
	}
	t.Logf("histogram exact; %d exemplars from Prometheus, %d served", len(got.Exemplars), len(wantEx))
}
