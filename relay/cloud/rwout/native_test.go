package rwout

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

func intHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		CounterResetHint: histogram.NotCounterReset, Schema: 3, ZeroThreshold: math.Ldexp(1, -128), ZeroCount: 4, Count: 40, Sum: 1234.0625,
		PositiveSpans: []histogram.Span{{Offset: -3, Length: 3}, {Offset: 5, Length: 2}}, PositiveBuckets: []int64{1, 2, -1, 6, -3},
		NegativeSpans: []histogram.Span{{Offset: 1, Length: 2}}, NegativeBuckets: []int64{7, 3},
	}
}

func floatHist() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType, Schema: histogram.CustomBucketsSchema, Count: 3.5, Sum: math.Float64frombits(0x7ff8000000000123),
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{1.25, 2.25}, CustomValues: []float64{0.5, 2},
	}
}

// nativeBatch holds an integer and a float histogram series, a histogram
// staleness marker, and exemplars with and without timestamps.
func nativeBatch(t0 int64) *relay.Batch {
	ex := func(v float64, ts int64, hasTs bool) relay.Exemplar {
		return relay.Exemplar{Labels: labels.FromStrings("trace_id", fmt.Sprint(v)), Value: v, Ts: ts, HasTs: hasTs}
	}
	return &relay.Batch{Timestamp: t0, Series: []relay.Series{
		{
			Labels:     labels.FromStrings("__name__", "fwd_rpc_seconds", "job", "j"),
			Histograms: []relay.HistogramSample{{T: t0 - 1000, H: intHistogram()}, {T: t0, H: intHistogram()}},
			Exemplars:  []relay.Exemplar{ex(0.25, t0-7, true), ex(3, 0, false)},
		},
		{
			Labels:     labels.FromStrings("__name__", "fwd_queue_depth", "job", "j"),
			Histograms: []relay.HistogramSample{{T: t0 - 1, FH: floatHist()}},
		},
		{
			Labels:    labels.FromStrings("__name__", "fwd_requests_total", "job", "j"),
			Samples:   []relay.Sample{{T: t0 - 2, V: 17}},
			Exemplars: []relay.Exemplar{ex(1, 0, false)},
		},
		{
			Labels:     labels.FromStrings("__name__", "fwd_gone_seconds", "job", "j"),
			Histograms: []relay.HistogramSample{{T: t0, H: &histogram.Histogram{Sum: math.Float64frombits(value.StaleNaN)}}},
		},
	}}
}

// series returns every time series received, by label set.
func (rc *sink) series() map[string]prompb.TimeSeries {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]prompb.TimeSeries{}
	for _, req := range rc.taken {
		for _, ts := range req.Timeseries {
			var b labels.ScratchBuilder
			k := ts.ToLabels(&b, nil).String()
			prev := out[k]
			prev.Labels = ts.Labels
			prev.Samples = append(prev.Samples, ts.Samples...)
			prev.Histograms = append(prev.Histograms, ts.Histograms...)
			prev.Exemplars = append(prev.Exemplars, ts.Exemplars...)
			out[k] = prev
		}
	}
	return out
}

// TestSendNativeHistogramsAndExemplars decodes what a receiver gets: every
// histogram sample (integer and float, the staleness marker too) and
// exemplar exactly, requests split counting them against
// max_samples_per_send, and each counted as sent.
func TestSendNativeHistogramsAndExemplars(t *testing.T) {
	rc := &sink{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c := cfg(t, srv.URL, 3)
	c.SendNativeHistograms, c.SendExemplars = true, true
	reg := prometheus.NewRegistry()
	f := start(t, c, Options{Registerer: reg})
	const t0 = 1_700_000_000_000
	b := nativeBatch(t0)
	sendWait(t, f, b)
	if len(rc.taken) != 3 {
		t.Fatalf("%d requests, want 3 (4 + 1 + 2 + 1 items at 3 per request)", len(rc.taken))
	}
	got := rc.series()
	for _, s := range b.Series {
		ts, ok := got[s.Labels.String()]
		if !ok {
			t.Fatalf("%s not received", s.Labels)
		}
		if len(ts.Histograms) != len(s.Histograms) || len(ts.Exemplars) != len(s.Exemplars) || len(ts.Samples) != len(s.Samples) {
			t.Fatalf("%s: received %d histograms, %d exemplars, %d samples", s.Labels, len(ts.Histograms), len(ts.Exemplars), len(ts.Samples))
		}
		for i, h := range s.Histograms {
			ph := ts.Histograms[i]
			if ph.Timestamp != h.T {
				t.Errorf("%s histogram %d at %d, want %d", s.Labels, i, ph.Timestamp, h.T)
			}
			if h.H != nil {
				gh := ph.ToIntHistogram()
				if ph.IsFloatHistogram() || !gh.Equals(h.H) || gh.CounterResetHint != h.H.CounterResetHint {
					t.Errorf("%s histogram %d is %v, want %v", s.Labels, i, gh, h.H)
				}
			} else {
				gh := ph.ToFloatHistogram()
				if !ph.IsFloatHistogram() || !gh.Equals(h.FH) || gh.CounterResetHint != h.FH.CounterResetHint ||
					math.Float64bits(gh.Sum) != math.Float64bits(h.FH.Sum) {
					t.Errorf("%s float histogram %d is %v, want %v", s.Labels, i, gh, h.FH)
				}
			}
		}
		for i, e := range s.Exemplars {
			pe := ts.Exemplars[i]
			var lb labels.ScratchBuilder
			ge := pe.ToExemplar(&lb, nil)
			wantTs := e.Ts
			if !e.HasTs { // stamped with the series' newest sample, as Prometheus' scraper does
				wantTs = map[string]int64{"fwd_rpc_seconds": t0, "fwd_requests_total": t0 - 2}[s.Labels.Get("__name__")]
			}
			if !labels.Equal(ge.Labels, e.Labels) || math.Float64bits(ge.Value) != math.Float64bits(e.Value) || pe.Timestamp != wantTs {
				t.Errorf("%s exemplar %d is %+v, want %+v at %d", s.Labels, i, pe, e, wantTs)
			}
		}
	}
	if n := testutil.ToFloat64(f.m.nm.sentH); n != 4 {
		t.Errorf("sent_histograms_total %v, want 4", n)
	}
	if n := testutil.ToFloat64(f.m.nm.sentE); n != 3 {
		t.Errorf("sent_exemplars_total %v, want 3", n)
	}
	if n := testutil.ToFloat64(f.m.sent); n != 1 {
		t.Errorf("sent_samples_total %v, want 1", n)
	}
}

// TestNativeWithheldByConfig: with send_native_histograms and send_exemplars
// false (Prometheus' default) float samples still go, the rest is counted
// as withheld.
func TestNativeWithheldByConfig(t *testing.T) {
	rc := &sink{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f := start(t, cfg(t, srv.URL, 100), Options{})
	sendWait(t, f, nativeBatch(5000))
	got := rc.series()
	if len(got) != 1 {
		t.Fatalf("received %v, want only the float series", got)
	}
	for _, ts := range got {
		if len(ts.Samples) != 1 || len(ts.Exemplars) != 0 || len(ts.Histograms) != 0 {
			t.Fatalf("received %+v", ts)
		}
	}
	if h, e := testutil.ToFloat64(f.m.nm.withheldH), testutil.ToFloat64(f.m.nm.withheldE); h != 4 || e != 3 {
		t.Fatalf("withheld %v histograms and %v exemplars, want 4 and 3", h, e)
	}
}

// TestPrometheusReceivesNativeHistograms forwards into Prometheus 2.42
// started with its remote_write receiver, native histograms and exemplar
// storage on, and reads back with its query API an integer and a float
// histogram (count, sum, every bucket) and a counter's exemplar, exactly.
func TestPrometheusReceivesNativeHistograms(t *testing.T) {
	prom := promtest.Start(t, "global: {}\n", "--web.enable-remote-write-receiver", "--enable-feature=native-histograms,exemplar-storage")
	addr := prom.Addr

	c := cfg(t, "http://"+addr+"/api/v1/write", 2000)
	c.SendNativeHistograms, c.SendExemplars = true, true
	f := start(t, c, Options{})
	now := time.Now().UnixMilli()
	b := nativeBatch(now)
	// Prometheus 2.42 knows no custom buckets: the float histogram gets
	// exponential ones. It takes exemplars only for series it already has.
	fh := floatHist()
	fh.Schema, fh.CustomValues, fh.Sum, fh.CounterResetHint = -1, nil, 17.5, histogram.UnknownCounterReset
	fh.NegativeSpans, fh.NegativeBuckets, fh.Count = []histogram.Span{{Offset: 2, Length: 1}}, []float64{0.5}, 4
	b.Series = b.Series[:2]
	b.Series[0].Exemplars = nil
	b.Series[1].Histograms[0] = relay.HistogramSample{T: now, FH: fh}
	b.Series = append(b.Series, relay.Series{
		Labels:    labels.FromStrings("__name__", "fwd_requests_total", "job", "j"),
		Samples:   []relay.Sample{{T: now, V: 17}},
		Exemplars: []relay.Exemplar{{Labels: labels.FromStrings("trace_id", "4bf92f3577b34da6"), Value: 0.125, Ts: now - 5, HasTs: true}},
	})
	sendWait(t, f, b)
	at := fmt.Sprintf("%.3f", float64(now)/1000)
	for name, want := range map[string]*histogram.FloatHistogram{"fwd_rpc_seconds": intHistogram().ToFloat(nil), "fwd_queue_depth": fh} {
		var res []struct {
			Histogram [2]json.RawMessage `json:"histogram"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for !prom.Get("/api/v1/query?query="+url.QueryEscape(name)+"&time="+at, &res) || len(res) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("forwarded histogram %s not queryable in Prometheus", name)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("Prometheus holds %s = %s", name, res[0].Histogram[1])
		if d := promtest.DiffHistogram(res[0].Histogram[1], want); d != "" {
			t.Fatalf("%s: %s", name, d)
		}
	}

	var ex []struct {
		Exemplars []struct {
			Labels    map[string]string `json:"labels"`
			Value     string            `json:"value"`
			Timestamp float64           `json:"timestamp"`
		} `json:"exemplars"`
	}
	q := "/api/v1/query_exemplars?query=" + url.QueryEscape(`fwd_requests_total`) +
		fmt.Sprintf("&start=%.3f&end=%.3f", float64(now-60000)/1000, float64(now+60000)/1000)
	if !prom.Get(q, &ex) || len(ex) != 1 || len(ex[0].Exemplars) != 1 {
		t.Fatalf("exemplars: %+v", ex)
	}
	e := ex[0].Exemplars[0]
	if e.Labels["trace_id"] != "4bf92f3577b34da6" || e.Value != "0.125" || int64(math.Round(e.Timestamp*1000)) != now-5 {
		t.Fatalf("exemplar %+v, want trace_id=4bf92f3577b34da6 0.125 at %d", e, now-5)
	}
}
