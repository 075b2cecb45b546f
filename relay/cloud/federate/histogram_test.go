package federate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// protoAccept is what Prometheus sends with native histograms on.
const protoAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"

func expHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		Schema: 2, ZeroThreshold: math.Ldexp(1, -128), ZeroCount: 3, Count: 21, Sum: 1234.5,
		PositiveSpans: []histogram.Span{{Offset: -1, Length: 3}, {Offset: 4, Length: 2}}, PositiveBuckets: []int64{1, 2, -1, 5, -4},
		NegativeSpans: []histogram.Span{{Offset: 2, Length: 1}}, NegativeBuckets: []int64{2},
	}
}

func floatHistogram() *histogram.FloatHistogram {
	return &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType, Schema: -1, ZeroThreshold: 0.125, ZeroCount: 1.5, Count: 9.25, Sum: -7.5,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{3.75, 4},
	}
}

func customHistogram() *histogram.Histogram {
	return &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 9, Sum: 4.5,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}, {Offset: 1, Length: 2}}, PositiveBuckets: []int64{2, 1, 1},
		CustomValues: []float64{0.1, 0.5, 1},
	}
}

// histogramStore holds a native histogram of each kind, one that became
// stale, and a float series.
func histogramStore(t testing.TB) *Store {
	s := testStore(newClock())
	l := func(name string, kv ...string) labels.Labels {
		return labels.FromStrings(append([]string{"__name__", name, "job", "api", "tenant", "acme"}, kv...)...)
	}
	s.Update("acme", &relay.Batch{
		Series: []relay.Series{
			{Labels: l("rpc_seconds", "method", "get"), Histograms: []relay.HistogramSample{{T: 900, H: customHistogram()}, {T: 1000, H: expHistogram()}}},
			{Labels: l("queue_depth"), Histograms: []relay.HistogramSample{{T: 1100, FH: floatHistogram()}}},
			{Labels: l("db_seconds"), Histograms: []relay.HistogramSample{{T: 1200, H: customHistogram()}}},
			{Labels: l("gone_seconds"), Histograms: []relay.HistogramSample{{T: 1000, H: expHistogram()}}},
			{Labels: l("temp_celsius"), Samples: []relay.Sample{{T: 1300, V: 21.5}}},
		},
		Metadata: map[string]relay.Metadata{"temp_celsius": {Type: "gauge", Help: "Temperature."}, "rpc_seconds": {Type: "histogram", Help: "RPC latency."}},
	})
	s.Update("acme", &relay.Batch{Series: []relay.Series{{Labels: l("gone_seconds"),
		Histograms: []relay.HistogramSample{{T: 2000, H: &histogram.Histogram{Sum: math.Float64frombits(value.StaleNaN)}}}}}})
	return s
}

type scraped struct {
	lset labels.Labels
	t    int64
	h    *histogram.Histogram
	fh   *histogram.FloatHistogram
	v    float64
	ex   []exemplar.Exemplar
}

// scrapeProto fetches /federate as Prometheus does with native histograms
// on, and reads the answer with Prometheus' own protobuf parser.
func scrapeProto(t testing.TB, s *Store) (map[string]scraped, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/federate?"+q(`{job="api"}`), nil)
	req.Header.Set("Accept", protoAccept)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	ct := rec.Header().Get("Content-Type")
	if rec.Code != 200 || !strings.HasPrefix(ct, "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited") {
		t.Fatalf("code %d, Content-Type %q", rec.Code, ct)
	}
	p, err := textparse.New(rec.Body.Bytes(), ct, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]scraped{}
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, ct
		}
		if err != nil {
			t.Fatalf("parse /federate answer: %v", err)
		}
		var sc scraped
		var ts *int64
		switch e {
		case textparse.EntryHistogram:
			_, ts, sc.h, sc.fh = p.Histogram()
		case textparse.EntrySeries:
			_, ts, sc.v = p.Series()
		default:
			continue
		}
		p.Labels(&sc.lset)
		var ex exemplar.Exemplar
		for p.Exemplar(&ex) {
			sc.ex = append(sc.ex, ex)
			ex = exemplar.Exemplar{}
		}
		if ts == nil {
			t.Fatalf("%s without timestamp", sc.lset)
		}
		sc.t = *ts
		out[sc.lset.String()] = sc
	}
}

// TestServeNativeHistogramsProto serves the latest native histogram of each
// series in the protobuf format, and Prometheus' parser reads back exactly
// the histogram the store was given: integer counts stay integers, a gauge
// histogram stays one, a custom-bucket histogram arrives as the classic
// histogram it stands for, a staleness marker removed its series.
func TestServeNativeHistogramsProto(t *testing.T) {
	got, _ := scrapeProto(t, histogramStore(t))
	key := func(name string, kv ...string) string {
		return labels.FromStrings(append([]string{"__name__", name, "job", "api", "tenant", "acme"}, kv...)...).String()
	}
	rpc := got[key("rpc_seconds", "method", "get")]
	if rpc.h == nil || rpc.t != 1000 || !rpc.h.Equals(expHistogram()) {
		t.Fatalf("rpc_seconds: %v at %d, want %v at 1000", rpc.h, rpc.t, expHistogram())
	}
	q := got[key("queue_depth")]
	if q.fh == nil || q.t != 1100 || !q.fh.Equals(floatHistogram()) || q.fh.CounterResetHint != histogram.GaugeType {
		t.Fatalf("queue_depth: %v at %d, want %v at 1100", q.fh, q.t, floatHistogram())
	}
	if tc := got[key("temp_celsius")]; tc.v != 21.5 || tc.t != 1300 {
		t.Fatalf("temp_celsius: %v at %d", tc.v, tc.t)
	}
	// Classic series of the custom-bucket histogram: cumulative counts (the
	// parser spells le as OpenMetrics does).
	for le, want := range map[string]float64{"0.1": 2, "0.5": 2, "1.0": 5, "+Inf": 9} {
		if b := got[key("db_seconds_bucket", "le", le)]; b.v != want || b.t != 1200 {
			t.Errorf("db_seconds_bucket{le=%q} = %v at %d, want %v", le, b.v, b.t, want)
		}
	}
	if c, s := got[key("db_seconds_count")], got[key("db_seconds_sum")]; c.v != 9 || s.v != 4.5 {
		t.Errorf("db_seconds count %v, sum %v", c.v, s.v)
	}
	if _, ok := got[key("gone_seconds")]; ok {
		t.Error("a histogram staleness marker did not remove its series")
	}
	if len(got) != 9 {
		t.Errorf("%d series, want 9: %v", len(got), got)
	}
}

// TestServeNativeHistogramsText does what Prometheus' /federate does in the
// text format: native histograms with exponential buckets are left out, one
// with custom buckets is a classic histogram.
func TestServeNativeHistogramsText(t *testing.T) {
	r := get(t, histogramStore(t), q(`{job="api"}`), nil)
	want := `# TYPE db_seconds histogram
db_seconds_bucket{job="api",le="0.1",tenant="acme"} 2 1200
db_seconds_bucket{job="api",le="0.5",tenant="acme"} 2 1200
db_seconds_bucket{job="api",le="1",tenant="acme"} 5 1200
db_seconds_bucket{job="api",le="+Inf",tenant="acme"} 9 1200
db_seconds_sum{job="api",tenant="acme"} 4.5 1200
db_seconds_count{job="api",tenant="acme"} 9 1200
# HELP temp_celsius Temperature.
# TYPE temp_celsius gauge
temp_celsius{job="api",tenant="acme"} 21.5 1300
`
	if r.body != want {
		t.Fatalf("got:\n%s\nwant:\n%s", r.body, want)
	}
}

// TestLatestOfFloatAndHistogram: whichever sample is newer is served, and
// a series switching kinds is served as the newer kind.
func TestLatestOfFloatAndHistogram(t *testing.T) {
	s := testStore(newClock())
	l := labels.FromStrings("__name__", "mixed", "job", "api")
	s.Update("acme", &relay.Batch{Series: []relay.Series{{Labels: l, Samples: []relay.Sample{{T: 5, V: 1}}, Histograms: []relay.HistogramSample{{T: 4, H: expHistogram()}}}}})
	got, _ := scrapeProto(t, s)
	if sc := got[l.String()]; sc.h != nil || sc.v != 1 || sc.t != 5 {
		t.Fatalf("got %+v, want the float at 5", sc)
	}
	s.Update("acme", &relay.Batch{Series: []relay.Series{{Labels: l, Histograms: []relay.HistogramSample{{T: 6, H: expHistogram()}}}}})
	got, _ = scrapeProto(t, s)
	if sc := got[l.String()]; sc.h == nil || sc.t != 6 {
		t.Fatalf("got %+v, want the histogram at 6", sc)
	}
	// The store keeps its own copy.
	h := expHistogram()
	s.Update("acme", &relay.Batch{Series: []relay.Series{{Labels: l, Histograms: []relay.HistogramSample{{T: 7, H: h}}}}})
	h.Count, h.PositiveBuckets[0] = 99, 99
	if sc := mustGet(t, s, l); !sc.h.Equals(expHistogram()) {
		t.Fatalf("served %v after the batch changed, want %v", sc.h, expHistogram())
	}
}

func mustGet(t *testing.T, s *Store, l labels.Labels) scraped {
	got, _ := scrapeProto(t, s)
	sc, ok := got[l.String()]
	if !ok {
		t.Fatalf("%s not served", l)
	}
	return sc
}

// FuzzServeHistogram stores a histogram built from arbitrary fields and
// requires Prometheus' protobuf parser to read back the same histogram
// from /federate (as far as Prometheus keeps it: compacted, valid ones).
func FuzzServeHistogram(f *testing.F) {
	f.Add(int8(2), uint64(3), uint32(0x11223344), int8(-1), uint8(3), int8(4), uint8(2), true, 0.5)
	f.Add(int8(-4), uint64(0), uint32(0), int8(0), uint8(0), int8(0), uint8(0), false, 0.0)
	f.Add(int8(8), uint64(1), uint32(7), int8(3), uint8(1), int8(0), uint8(0), true, 1e-300)
	f.Fuzz(func(t *testing.T, schema int8, zc uint64, seed uint32, off1 int8, len1 uint8, off2 int8, len2 uint8, integer bool, sum float64) {
		if schema < -4 || schema > 8 || len1 > 16 || len2 > 16 || math.IsNaN(sum) {
			t.Skip()
		}
		fh := &histogram.FloatHistogram{Schema: int32(schema), ZeroThreshold: 1e-9, ZeroCount: float64(zc % 1000), Sum: sum}
		if len1 > 0 {
			fh.PositiveSpans = append(fh.PositiveSpans, histogram.Span{Offset: int32(off1), Length: uint32(len1)})
		}
		if len2 > 0 {
			fh.NegativeSpans = append(fh.NegativeSpans, histogram.Span{Offset: int32(off2), Length: uint32(len2)})
		}
		x := seed
		next := func() float64 { x = x*1664525 + 1013904223; return float64(x>>24 + 1) }
		fh.Count = fh.ZeroCount
		for range len1 {
			fh.PositiveBuckets = append(fh.PositiveBuckets, next())
			fh.Count += fh.PositiveBuckets[len(fh.PositiveBuckets)-1]
		}
		for range len2 {
			fh.NegativeBuckets = append(fh.NegativeBuckets, next())
			fh.Count += fh.NegativeBuckets[len(fh.NegativeBuckets)-1]
		}
		hs := relay.HistogramSample{T: 77, FH: fh}
		if integer {
			h, ok := toInt(fh)
			if !ok {
				t.Skip()
			}
			hs = relay.HistogramSample{T: 77, H: h}
		}
		s := testStore(newClock())
		l := labels.FromStrings("__name__", "fz", "job", "api")
		s.Update("acme", &relay.Batch{Series: []relay.Series{{Labels: l, Histograms: []relay.HistogramSample{hs}}}})
		sc := mustGet(t, s, l)
		switch {
		case integer && (sc.h == nil || !sc.h.Equals(hs.H)):
			t.Fatalf("got %v, want %v", sc.h, hs.H)
		case !integer && fh.Count > 0 && (sc.fh == nil || !sc.fh.Equals(fh)):
			t.Fatalf("got %v, want %v", sc.fh, fh)
		}
	})
}

// toInt returns fh with integer counts, as Prometheus keeps them.
func toInt(fh *histogram.FloatHistogram) (*histogram.Histogram, bool) {
	h := &histogram.Histogram{Schema: fh.Schema, ZeroThreshold: fh.ZeroThreshold, ZeroCount: uint64(fh.ZeroCount),
		Count: uint64(fh.Count), Sum: fh.Sum, PositiveSpans: fh.PositiveSpans, NegativeSpans: fh.NegativeSpans}
	delta := func(bs []float64) []int64 {
		var out []int64
		prev := int64(0)
		for _, b := range bs {
			out = append(out, int64(b)-prev)
			prev = int64(b)
		}
		return out
	}
	h.PositiveBuckets, h.NegativeBuckets = delta(fh.PositiveBuckets), delta(fh.NegativeBuckets)
	return h, h.Validate() == nil
}

// TestServeExemplarsProto serves the exemplars that came with a series'
// latest sample where the protobuf format holds them: all of them on a
// native histogram, one per bucket of a classic histogram, the newest on a
// counter; none on a gauge. A newer sample without exemplars clears them,
// and at most maxExemplars are kept.
func TestServeExemplarsProto(t *testing.T) {
	s := testStore(newClock())
	l := func(name string) labels.Labels { return labels.FromStrings("__name__", name, "job", "api") }
	ex := func(v float64, ts int64, hasTs bool, id string) relay.Exemplar {
		return relay.Exemplar{Labels: labels.FromStrings("trace_id", id), Value: v, Ts: ts, HasTs: hasTs}
	}
	var many []relay.Exemplar
	for i := range maxExemplars + 3 {
		many = append(many, ex(float64(i), int64(100+i), true, fmt.Sprint("m", i)))
	}
	s.Update("acme", &relay.Batch{
		Series: []relay.Series{
			{Labels: l("rpc_seconds"), Histograms: []relay.HistogramSample{{T: 1000, H: expHistogram()}}, Exemplars: many},
			{Labels: l("db_seconds"), Histograms: []relay.HistogramSample{{T: 1000, H: customHistogram()}},
				Exemplars: []relay.Exemplar{ex(0.05, 990, true, "a"), ex(0.07, 991, true, "b"), ex(0.7, 992, true, "c"), ex(5, 993, true, "d")}},
			{Labels: l("requests_total"), Samples: []relay.Sample{{T: 1000, V: 3}}, Exemplars: []relay.Exemplar{ex(1, 0, false, "x"), ex(2, 995, true, "y")}},
			{Labels: l("temp_celsius"), Samples: []relay.Sample{{T: 1000, V: 3}}, Exemplars: []relay.Exemplar{ex(1, 995, true, "g")}},
		},
		Metadata: map[string]relay.Metadata{"requests": {Type: "counter"}, "temp_celsius": {Type: "gauge"}},
	})
	got, _ := scrapeProto(t, s)
	ids := func(sc scraped) string {
		var out []string
		for _, e := range sc.ex {
			ts := "-"
			if e.HasTs {
				ts = fmt.Sprint(e.Ts)
			}
			out = append(out, fmt.Sprintf("%s:%v@%s", e.Labels.Get("trace_id"), e.Value, ts))
		}
		return fmt.Sprint(out)
	}
	for name, want := range map[string]string{
		"rpc_seconds":                  "[m3:3@103 m4:4@104 m5:5@105 m6:6@106 m7:7@107 m8:8@108 m9:9@109 m10:10@110 m11:11@111 m12:12@112]",
		`db_seconds_bucket{le="0.1"}`:  "[b:0.07@991]",
		`db_seconds_bucket{le="1.0"}`:  "[c:0.7@992]",
		`db_seconds_bucket{le="+Inf"}`: "[d:5@993]",
		"requests_total":               "[y:2@995]",
		"temp_celsius":                 "[]",
	} {
		var sc scraped
		for _, g := range got {
			if n := g.lset.Get("__name__"); n == name || strings.HasPrefix(name, n+"{") && strings.Contains(name, `"`+g.lset.Get("le")+`"`) {
				sc = g
			}
		}
		if ids(sc) != want {
			t.Errorf("%s: exemplars %s, want %s", name, ids(sc), want)
		}
	}
	s.Update("acme", &relay.Batch{Series: []relay.Series{{Labels: l("requests_total"), Samples: []relay.Sample{{T: 2000, V: 4}}}},
		Metadata: map[string]relay.Metadata{"requests": {Type: "counter"}}})
	if sc := mustGet(t, s, l("requests_total")); len(sc.ex) != 0 || sc.v != 4 {
		t.Errorf("after a sample without exemplars: %v, exemplars %v", sc.v, sc.ex)
	}
}

// FuzzServeAccept sends arbitrary selectors and Accept headers to a store
// holding native histograms: the answer is a 200 or a 400, and a 200 always
// parses with Prometheus' parser for the Content-Type it names.
func FuzzServeAccept(f *testing.F) {
	s := histogramStore(f)
	f.Add(`{job="api"}`, protoAccept)
	f.Add(`{__name__=~".+_seconds"}`, "text/plain;version=0.0.4;escaping=allow-utf-8")
	f.Add(`up`, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=dots")
	f.Add(`{job=`, "*/*")
	f.Fuzz(func(t *testing.T, match, accept string) {
		req := httptest.NewRequest(http.MethodGet, "/federate?"+q(match), nil)
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == http.StatusBadRequest {
			return
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("code %d for %q, Accept %q", rec.Code, match, accept)
		}
		p, err := textparse.New(rec.Body.Bytes(), rec.Header().Get("Content-Type"), labels.NewSymbolTable(), textparse.ParserOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			_, err := p.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("answer to %q, Accept %q (%s) does not parse: %v", match, accept, rec.Header().Get("Content-Type"), err)
			}
		}
	})
}
