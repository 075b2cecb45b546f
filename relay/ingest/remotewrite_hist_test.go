package ingest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
)

// histSeries is a random series of native histograms (integer and float,
// staleness markers, custom buckets) with exemplars remote_write can
// express: a timestamp of 0 means none.
func histSeries(r *rand.Rand, i int) relay.Series {
	sr := relay.Series{Labels: labels.FromStrings("__name__", "lat_seconds", "s", strconv.Itoa(i))}
	if i%3 == 0 {
		sr.Samples = []relay.Sample{{T: 1000, V: histtest.Float(r)}}
	}
	for k := range 1 + r.IntN(3) {
		sr.Histograms = append(sr.Histograms, histtest.ValidSample(r, int64(1000+k*15000)))
	}
	for range r.IntN(3) {
		e := histtest.Exemplar(r, 5000)
		if e.Labels.IsEmpty() {
			e.Labels = labels.FromStrings("trace_id", "x")
		}
		if e.HasTs = e.Ts != 0; r.IntN(4) == 0 {
			e.Ts, e.HasTs = 0, false
		}
		sr.Exemplars = append(sr.Exemplars, e)
	}
	wireable(&sr)
	return sr
}

// wireable makes -0 in the scalar float fields of sr +0: proto3 leaves a
// zero scalar out, so a sender's -0 arrives as +0 (repeated fields such as
// buckets keep it).
func wireable(sr *relay.Series) {
	z := func(f *float64) {
		if *f == 0 {
			*f = 0
		}
	}
	for i := range sr.Samples {
		z(&sr.Samples[i].V)
	}
	for _, h := range sr.Histograms {
		if h.H != nil {
			z(&h.H.Sum)
			z(&h.H.ZeroThreshold)
		} else {
			z(&h.FH.Sum)
			z(&h.FH.ZeroThreshold)
			z(&h.FH.ZeroCount)
			z(&h.FH.Count)
		}
	}
	for i := range sr.Exemplars {
		z(&sr.Exemplars[i].Value)
	}
}

// v1Request is want as a remote_write 1.0 request.
func v1Request(want []relay.Series) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for _, sr := range want {
		ts := prompb.TimeSeries{Labels: prompb.FromLabels(sr.Labels, nil)}
		for _, s := range sr.Samples {
			ts.Samples = append(ts.Samples, prompb.Sample{Value: s.V, Timestamp: s.T})
		}
		for _, h := range sr.Histograms {
			if h.H != nil {
				ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(h.T, h.H))
			} else {
				ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(h.T, h.FH))
			}
		}
		for _, e := range sr.Exemplars {
			ts.Exemplars = append(ts.Exemplars, prompb.Exemplar{Labels: prompb.FromLabels(e.Labels, nil), Value: e.Value, Timestamp: e.Ts})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

// v2Request2 is want as a remote_write 2.0 request.
func v2Request2(want []relay.Series) *writev2.Request {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	for _, sr := range want {
		ts := writev2.TimeSeries{LabelsRefs: st.SymbolizeLabels(sr.Labels, nil)}
		for _, s := range sr.Samples {
			ts.Samples = append(ts.Samples, writev2.Sample{Value: s.V, Timestamp: s.T})
		}
		for _, h := range sr.Histograms {
			if h.H != nil {
				ts.Histograms = append(ts.Histograms, writev2.FromIntHistogram(0, h.T, h.H))
			} else {
				ts.Histograms = append(ts.Histograms, writev2.FromFloatHistogram(0, h.T, h.FH))
			}
		}
		for _, e := range sr.Exemplars {
			ts.Exemplars = append(ts.Exemplars, writev2.Exemplar{LabelsRefs: st.SymbolizeLabels(e.Labels, nil), Value: e.Value, Timestamp: e.Ts})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	return req
}

// TestRemoteWriteHistogramsExemplars: remote_write 1.0 and 2.0 requests of
// native histograms and exemplars are taken exactly, every field, and a
// 2.0 sender is told how many samples, histograms and exemplars were
// written.
func TestRemoteWriteHistogramsExemplars(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range []string{"1.0", "2.0"} {
		for round := range 20 {
			var want []relay.Series
			for i := range 1 + r.IntN(6) {
				want = append(want, histSeries(r, i))
			}
			var body []byte
			ct := ""
			if v == "1.0" {
				body = marshalV1(t, v1Request(want))
			} else {
				body, ct = marshalV2(t, v2Request2(want)), ctV2
			}
			sink := newRecordingSink()
			reg := prometheus.NewRegistry()
			h := NewRemoteWriteHandler(sink, RemoteWriteConfig{Registerer: reg})
			req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(snappy.Encode(nil, body)))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("%s round %d: status %d: %s", v, round, rec.Code, rec.Body)
			}
			bs := sink.all()
			if len(bs) != 1 || len(bs[0].Series) != len(want) {
				t.Fatalf("%s round %d: batches %d", v, round, len(bs))
			}
			nf, nh, ne := 0, 0, 0
			for i, w := range want {
				g := bs[0].Series[i]
				if !labels.Equal(w.Labels, g.Labels) || len(w.Samples) != len(g.Samples) {
					t.Fatalf("%s round %d series %d: %s %v, want %s %v", v, round, i, g.Labels, g.Samples, w.Labels, w.Samples)
				}
				if d := histtest.DiffSamples(w.Histograms, g.Histograms); d != "" {
					t.Fatalf("%s round %d %s: %s", v, round, w.Labels, d)
				}
				if d := histtest.DiffExemplars(w.Exemplars, g.Exemplars); d != "" {
					t.Fatalf("%s round %d %s: %s", v, round, w.Labels, d)
				}
				nf, nh, ne = nf+len(w.Samples), nh+len(w.Histograms), ne+len(w.Exemplars)
			}
			if v == "2.0" {
				for hdr, n := range map[string]int{hdrSamplesWritten: nf, hdrHistogramsWritten: nh, hdrExemplarsWritten: ne} {
					if got := rec.Header().Get(hdr); got != strconv.Itoa(n) {
						t.Fatalf("round %d: %s = %q, want %d", round, hdr, got, n)
					}
				}
			}
			if got := metrictest.Value(t, reg, "edgerelay_ingested_samples_total", "source", "remote_write"); got != float64(nf+nh) {
				t.Fatalf("ingested = %v, want %d", got, nf+nh)
			}
		}
	}
}

// TestRemoteWriteInvalidHistogram: a histogram Prometheus' TSDB would refuse
// (spans that need more buckets than it has) gets a 400 naming it, in 1.0
// and 2.0, and nothing is queued; the scrape appender refuses it too.
func TestRemoteWriteInvalidHistogram(t *testing.T) {
	bad := relay.Series{Labels: labels.FromStrings("__name__", "lat"), Histograms: []relay.HistogramSample{{T: 1,
		H: &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{1}}}}}
	for _, v := range []string{"1.0", "2.0"} {
		body, ct := marshalV1(t, v1Request([]relay.Series{bad})), ""
		if v == "2.0" {
			body, ct = marshalV2(t, v2Request2([]relay.Series{bad})), ctV2
		}
		sink := newRecordingSink()
		h := NewRemoteWriteHandler(sink, RemoteWriteConfig{Registerer: prometheus.NewRegistry()})
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(snappy.Encode(nil, body)))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "histogram 0") || !strings.Contains(rec.Body.String(), "spans need 2 buckets") {
			t.Errorf("%s: status %d body %q", v, rec.Code, rec.Body)
		}
		if len(sink.all()) != 0 {
			t.Errorf("%s: an invalid request was queued", v)
		}
	}
	a, _ := newTestAppendable(newRecordingSink())
	app := a.AppenderV2(context.Background())
	if _, err := app.Append(0, bad.Labels, 0, 1, 0, bad.Histograms[0].H, nil, storage.AOptions{}); err == nil {
		t.Error("appender took an invalid histogram")
	}
}
