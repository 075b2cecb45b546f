package expfmt

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// nativeBatch holds an integer, a float and a custom-bucket histogram,
// exemplars with and without timestamps, names that need quoting and a
// label value that is not valid UTF-8.
func nativeBatch() *relay.Batch {
	ih := &histogram.Histogram{
		CounterResetHint: histogram.NotCounterReset, Schema: 3, ZeroThreshold: 1e-128, ZeroCount: 2, Count: 14, Sum: -0.5,
		PositiveSpans: []histogram.Span{{Offset: -2, Length: 2}, {Offset: 3, Length: 1}}, PositiveBuckets: []int64{1, 2, -1},
		NegativeSpans: []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []int64{8},
	}
	fh := &histogram.FloatHistogram{
		CounterResetHint: histogram.GaugeType, Schema: -4, ZeroThreshold: 0.001, ZeroCount: 0.5, Count: 3.25, Sum: math.Float64frombits(0x7ff8000000000abc),
		PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []float64{1.25, math.Copysign(0, -1)},
		NegativeSpans: []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []float64{1.5},
	}
	nhcb := &histogram.Histogram{
		Schema: histogram.CustomBucketsSchema, Count: 5, Sum: 12.5, CounterResetHint: histogram.CounterReset,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1, 1, 0},
		CustomValues: []float64{0.1, 1, math.Inf(1)},
	}
	ex := func(v float64, ts int64, hasTs bool, kv ...string) relay.Exemplar {
		return relay.Exemplar{Labels: labels.FromStrings(kv...), Value: v, Ts: ts, HasTs: hasTs}
	}
	return &relay.Batch{Series: []relay.Series{
		{
			Labels:     labels.FromStrings("__name__", "rpc_seconds", "job", "api", "path", "a\"b\\c\nd\xff"),
			Histograms: []relay.HistogramSample{{T: 1000, H: ih}, {T: 2000, H: nhcb}},
			Exemplars:  []relay.Exemplar{ex(0.25, 999, true, "trace_id", "abc"), ex(-1, 0, false)},
		},
		{
			Labels:     labels.FromStrings("__name__", "queue.depth", "Zone", "eu", "weird label", "x"),
			Histograms: []relay.HistogramSample{{T: -5, FH: fh}},
		},
		{
			Labels:    labels.FromStrings("__name__", "http_requests_total", "code", "200"),
			Samples:   []relay.Sample{{T: 1000, V: 7}},
			Exemplars: []relay.Exemplar{ex(1, 1000, true, "span.id", "é")},
		},
		{Labels: labels.FromStrings("__name__", "gone", "job", "api"), Histograms: []relay.HistogramSample{
			{T: 3000, H: &histogram.Histogram{Sum: math.Float64frombits(value.StaleNaN)}},
		}},
	}}
}

func TestNativeGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteNative(&buf, nativeBatch()); err != nil {
		t.Fatal(err)
	}
	want := `# edgerelay native 1
H rpc_seconds{job="api",path="a\"b\\c\nd\xff"} t=1000 schema=3 zt=1e-128 zc=2 count=14 sum=-0.5 hint=notreset ps=-2:2,3:1 pd=1,2,-1 ns=0:1 nd=8 cv=
H rpc_seconds{job="api",path="a\"b\\c\nd\xff"} t=2000 schema=-53 zt=0 zc=0 count=5 sum=12.5 hint=reset ps=0:3 pd=1,1,0 ns= nd= cv=0.1,1,+Inf
E rpc_seconds{job="api",path="a\"b\\c\nd\xff"} l={trace_id="abc"} v=0.25 t=999
E rpc_seconds{job="api",path="a\"b\\c\nd\xff"} l={} v=-1
FH {"queue.depth",Zone="eu","weird label"="x"} t=-5 schema=-4 zt=0.001 zc=0.5 count=3.25 sum=NaN(0x7ff8000000000abc) hint=gauge ps=1:2 pb=1.25,-0 ns=0:1 nb=1.5 cv=
E http_requests_total{code="200"} l={"span.id"="é"} v=1 t=1000
`
	if buf.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	if HasNative(&relay.Batch{Series: nativeBatch().Series[3:]}) {
		t.Fatal("a batch holding only a staleness marker has nothing for the native form")
	}
}

// TestNativeRoundTrip writes random batches and requires ParseNative to
// read back every histogram and exemplar exactly, bit for bit, staleness
// markers left out.
func TestNativeRoundTrip(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 9))
		b := randomNativeBatch(r)
		var buf bytes.Buffer
		if err := WriteNative(&buf, b); err != nil {
			t.Fatal(err)
		}
		got, err := ParseNative(buf.Bytes())
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, buf.Bytes())
		}
		if d := diffNative(withoutStale(b.Series), got); d != "" {
			t.Fatalf("seed %d: %s\n%s", seed, d, buf.Bytes())
		}
	}
}

func TestParseNativeErrors(t *testing.T) {
	h := NativeHeader + "\n"
	for _, tc := range []struct{ in, want string }{
		{"H x{} t=1\n", "line 1: want"},
		{h + "H x{} t=1", "no newline"},
		{h + "Q x{} t=1\n", "unknown record kind"},
		{h + "H x{} t=1 schema=0 zt=0 zc=0 count=0 sum=0 hint=unknown ps= pd= ns= nd=\n", "field cv"},
		{h + "H x{} t=1 schema=0 zt=0 zc=-1 count=0 sum=0 hint=unknown ps= pd= ns= nd= cv=\n", "field zc"},
		{h + "H x{} t=1 schema=0 zt=0x1p0 zc=0 count=0 sum=0 hint=unknown ps= pd= ns= nd= cv=\n", "field zt"},
		{h + "H x{} t=1 schema=0 zt=0 zc=0 count=0 sum=0 hint=unknown ps=1 pd= ns= nd= cv=\n", "bad span"},
		{h + "H x{a=\"1\",a=\"2\"} t=1 schema=0 zt=0 zc=0 count=0 sum=0 hint=unknown ps= pd= ns= nd= cv=\n", "given twice"},
		{h + "E x{} l={a=\"\\q\"} v=1\n", "unknown escape"},
		{h + "E x{} l={} v=1 t=2 extra\n", "after the record"},
		{h + "E 1x{} l={} v=1\n", "invalid metric name"},
	} {
		_, err := ParseNative([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func withoutStale(in []relay.Series) []relay.Series {
	var out []relay.Series
	for _, s := range in {
		s.Samples = nil
		s.Histograms = slices.DeleteFunc(slices.Clone(s.Histograms), func(h relay.HistogramSample) bool { return h.IsStale() || h.H == nil && h.FH == nil })
		if len(s.Histograms)+len(s.Exemplars) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// diffNative describes the first difference between want and got, or
// returns "" when every series, histogram and exemplar is identical, float
// bits included (an empty list and no list are the same).
func diffNative(want, got []relay.Series) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if !labels.Equal(w.Labels, g.Labels) {
			return fmt.Sprintf("series %d: labels %q, want %q", i, g.Labels, w.Labels)
		}
		if len(w.Histograms) != len(g.Histograms) || len(w.Exemplars) != len(g.Exemplars) {
			return fmt.Sprintf("series %d: %d histograms, %d exemplars; want %d, %d", i, len(g.Histograms), len(g.Exemplars), len(w.Histograms), len(w.Exemplars))
		}
		for j := range w.Histograms {
			if a, b := histString(w.Histograms[j]), histString(g.Histograms[j]); a != b {
				return fmt.Sprintf("series %d histogram %d:\n got %s\nwant %s", i, j, b, a)
			}
		}
		for j := range w.Exemplars {
			a, b := w.Exemplars[j], g.Exemplars[j]
			if !labels.Equal(a.Labels, b.Labels) || math.Float64bits(a.Value) != math.Float64bits(b.Value) || a.HasTs != b.HasTs || a.HasTs && a.Ts != b.Ts {
				return fmt.Sprintf("series %d exemplar %d: %+v, want %+v", i, j, b, a)
			}
		}
	}
	return ""
}

// histString spells every field of h with floats as bits.
func histString(h relay.HistogramSample) string {
	bits := func(fs []float64) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = fmt.Sprintf("%x", math.Float64bits(f))
		}
		return out
	}
	span := func(s []histogram.Span) string { return fmt.Sprint(append([]histogram.Span{}, s...)) }
	if h.H != nil {
		x := h.H
		return fmt.Sprintf("H t=%d %d %x %d %d %x %d %s %v %s %v %v", h.T, x.Schema, math.Float64bits(x.ZeroThreshold), x.ZeroCount, x.Count,
			math.Float64bits(x.Sum), x.CounterResetHint, span(x.PositiveSpans), append([]int64{}, x.PositiveBuckets...),
			span(x.NegativeSpans), append([]int64{}, x.NegativeBuckets...), bits(x.CustomValues))
	}
	x := h.FH
	return fmt.Sprintf("FH t=%d %d %x %x %x %x %d %s %v %s %v %v", h.T, x.Schema, math.Float64bits(x.ZeroThreshold), math.Float64bits(x.ZeroCount),
		math.Float64bits(x.Count), math.Float64bits(x.Sum), x.CounterResetHint, span(x.PositiveSpans), bits(x.PositiveBuckets),
		span(x.NegativeSpans), bits(x.NegativeBuckets), bits(x.CustomValues))
}

func randomNativeBatch(r *rand.Rand) *relay.Batch {
	names := []string{"a", "rpc_seconds", "my.metric", "", "x y", "\xfe\xff", "é"}
	values := []string{"", "v", "a\"b", "\\", "\n", "\xc3", "日本", "{},= "}
	b := &relay.Batch{}
	seen := map[string]bool{}
	for range r.IntN(5) + 1 {
		lb := labels.NewScratchBuilder(4)
		if r.IntN(4) > 0 {
			lb.Add("__name__", names[r.IntN(len(names))])
		}
		for k := range r.IntN(3) {
			lb.Add(fmt.Sprintf("%sl%d", []string{"", "Up", "odd-"}[r.IntN(3)], k), values[r.IntN(len(values))])
		}
		lb.Sort()
		s := relay.Series{Labels: lb.Labels()}
		if key := s.Labels.String(); seen[key] {
			continue
		} else {
			seen[key] = true
		}
		for range r.IntN(4) {
			s.Histograms = append(s.Histograms, randomHistogram(r))
		}
		for range r.IntN(3) {
			s.Exemplars = append(s.Exemplars, relay.Exemplar{
				Labels: labels.FromStrings("trace_id", values[r.IntN(len(values))]),
				Value:  randomFloat(r), Ts: r.Int64() - r.Int64(), HasTs: r.IntN(2) == 0,
			})
		}
		b.Series = append(b.Series, s)
	}
	return b
}

func randomHistogram(r *rand.Rand) relay.HistogramSample {
	spans := func() []histogram.Span {
		var out []histogram.Span
		for range r.IntN(3) {
			out = append(out, histogram.Span{Offset: int32(r.Uint32()), Length: r.Uint32N(4)})
		}
		return out
	}
	floats := func() []float64 {
		var out []float64
		for range r.IntN(4) {
			out = append(out, randomFloat(r))
		}
		return out
	}
	ints := func() []int64 {
		var out []int64
		for range r.IntN(4) {
			out = append(out, r.Int64()-r.Int64())
		}
		return out
	}
	t := r.Int64() - r.Int64()
	if r.IntN(10) == 0 {
		return relay.HistogramSample{T: t, H: &histogram.Histogram{Sum: math.Float64frombits(value.StaleNaN)}}
	}
	if r.IntN(2) == 0 {
		return relay.HistogramSample{T: t, H: &histogram.Histogram{
			CounterResetHint: histogram.CounterResetHint(r.IntN(5)), Schema: int32(r.Uint32()), ZeroThreshold: randomFloat(r),
			ZeroCount: r.Uint64(), Count: r.Uint64(), Sum: randomFloat(r),
			PositiveSpans: spans(), PositiveBuckets: ints(), NegativeSpans: spans(), NegativeBuckets: ints(), CustomValues: floats(),
		}}
	}
	return relay.HistogramSample{T: t, FH: &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(r.IntN(5)), Schema: int32(r.Uint32()), ZeroThreshold: randomFloat(r),
		ZeroCount: randomFloat(r), Count: randomFloat(r), Sum: randomFloat(r),
		PositiveSpans: spans(), PositiveBuckets: floats(), NegativeSpans: spans(), NegativeBuckets: floats(), CustomValues: floats(),
	}}
}

// randomFloat returns ordinary and special floats, NaN payloads included.
func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return math.Float64frombits(r.Uint64())
	case 1:
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64}[r.IntN(7)]
	case 2:
		return math.Float64frombits(0x7ff0000000000000 | r.Uint64N(1<<52-1) + 1)
	}
	return float64(r.IntN(1000)) / 8
}

// FuzzParseNative feeds arbitrary bytes to ParseNative: it never panics,
// and whatever it accepts is written back by WriteNative and read again
// unchanged.
func FuzzParseNative(f *testing.F) {
	var buf bytes.Buffer
	WriteNative(&buf, nativeBatch())
	f.Add(buf.Bytes())
	f.Add([]byte(NativeHeader + "\nE {\"a\"} l={} v=NaN(0x7ff0000000000001)\n"))
	f.Add([]byte(NativeHeader + "\nFH {x=\"\\xff\"} t=1 schema=0 zt=0 zc=0 count=0 sum=0 hint=7 ps=0:0 pb= ns= nb= cv=\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseNative(in)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteNative(&out, &relay.Batch{Series: got}); err != nil {
			t.Fatal(err)
		}
		again, err := ParseNative(out.Bytes())
		if err != nil {
			t.Fatalf("reading back what was written: %v\n%s", err, out.Bytes())
		}
		if d := diffNative(withoutStale(got), again); d != "" {
			t.Fatalf("%s\nin:\n%q\nwritten:\n%s", d, in, out.Bytes())
		}
	})
}
