// Package histtest makes random native histograms and exemplars for tests and
// compares them exactly: every field, float bits included, with an empty
// slice equal to a nil one. It is used only by tests; its functions are
// safe for concurrent use as long as each caller owns its *rand.Rand.
package histtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// floats are values worth hitting often: markers, infinities, signed zero.
var floats = []float64{0, 1, -1, math.Inf(1), math.Inf(-1), math.Copysign(0, -1),
	math.Float64frombits(value.StaleNaN), math.Float64frombits(value.NormalNaN), math.NaN(), 0.001, 1e300}

// Float returns a random float: a listed special value, a small decimal or
// random bits.
func Float(r *rand.Rand) float64 {
	switch r.IntN(3) {
	case 0:
		return floats[r.IntN(len(floats))]
	case 1:
		return float64(r.IntN(100000)) / 100
	}
	return math.Float64frombits(r.Uint64())
}

func spans(r *rand.Rand) ([]histogram.Span, int) {
	n := r.IntN(4)
	if n == 0 {
		return nil, 0
	}
	out := make([]histogram.Span, n)
	total := 0
	for i := range out {
		out[i] = histogram.Span{Offset: int32(r.IntN(7) - 3), Length: uint32(r.IntN(5))}
		total += int(out[i].Length)
	}
	return out, total
}

// schema returns a random schema: exponential -4..8, or -53 (custom buckets).
func schema(r *rand.Rand) int32 {
	if r.IntN(4) == 0 {
		return histogram.CustomBucketsSchema
	}
	return int32(r.IntN(13) - 4)
}

func custom(r *rand.Rand, s int32) []float64 {
	if s != histogram.CustomBucketsSchema {
		return nil
	}
	out := make([]float64, r.IntN(5))
	v := -1.0
	for i := range out {
		v += 0.25 + float64(r.IntN(100))
		out[i] = v
	}
	return out
}

// Histogram returns a random integer histogram; one in five is a staleness
// marker (Sum is the staleness NaN).
func Histogram(r *rand.Rand) *histogram.Histogram {
	h := &histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(r.IntN(4)),
		Schema:           schema(r),
		ZeroThreshold:    Float(r),
		ZeroCount:        r.Uint64() >> r.IntN(64),
		Count:            r.Uint64() >> r.IntN(64),
		Sum:              Float(r),
	}
	if r.IntN(5) == 0 {
		h.Sum = math.Float64frombits(value.StaleNaN)
	}
	var n int
	h.PositiveSpans, n = spans(r)
	for range n {
		h.PositiveBuckets = append(h.PositiveBuckets, int64(r.Uint64())>>r.IntN(64))
	}
	h.NegativeSpans, n = spans(r)
	for range n {
		h.NegativeBuckets = append(h.NegativeBuckets, int64(r.Uint64())>>r.IntN(64))
	}
	h.CustomValues = custom(r, h.Schema)
	return h
}

// FloatHistogram returns a random float histogram; one in five is a
// staleness marker.
func FloatHistogram(r *rand.Rand) *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(r.IntN(4)),
		Schema:           schema(r),
		ZeroThreshold:    Float(r),
		ZeroCount:        Float(r),
		Count:            Float(r),
		Sum:              Float(r),
	}
	if r.IntN(5) == 0 {
		h.Sum = math.Float64frombits(value.StaleNaN)
	}
	var n int
	h.PositiveSpans, n = spans(r)
	for range n {
		h.PositiveBuckets = append(h.PositiveBuckets, Float(r))
	}
	h.NegativeSpans, n = spans(r)
	for range n {
		h.NegativeBuckets = append(h.NegativeBuckets, Float(r))
	}
	h.CustomValues = custom(r, h.Schema)
	return h
}

// Exemplar returns a random exemplar with a trace_id label (sometimes more,
// sometimes none), a random value and timestamp near ts.
func Exemplar(r *rand.Rand, ts int64) exemplar.Exemplar {
	var ls []string
	for i := range r.IntN(3) {
		ls = append(ls, fmt.Sprintf("l%d", i), fmt.Sprintf("v%x", r.Uint32()))
	}
	return exemplar.Exemplar{
		Labels: labels.FromStrings(ls...),
		Value:  Float(r),
		Ts:     ts + int64(r.IntN(20000)) - 10000,
		HasTs:  r.IntN(2) == 0,
	}
}

// DiffHistogram returns "" when a and b are equal in every field (floats
// by bits), or a description of the first difference.
func DiffHistogram(a, b *histogram.Histogram) string {
	if a == nil || b == nil {
		if a == b {
			return ""
		}
		return fmt.Sprintf("nil vs non-nil: %v vs %v", a, b)
	}
	switch {
	case a.CounterResetHint != b.CounterResetHint:
		return fmt.Sprintf("hint %d vs %d", a.CounterResetHint, b.CounterResetHint)
	case a.Schema != b.Schema:
		return fmt.Sprintf("schema %d vs %d", a.Schema, b.Schema)
	case !sameF(a.ZeroThreshold, b.ZeroThreshold):
		return "zero threshold"
	case a.ZeroCount != b.ZeroCount || a.Count != b.Count:
		return fmt.Sprintf("counts %d/%d vs %d/%d", a.ZeroCount, a.Count, b.ZeroCount, b.Count)
	case !sameF(a.Sum, b.Sum):
		return fmt.Sprintf("sum %x vs %x", math.Float64bits(a.Sum), math.Float64bits(b.Sum))
	case !sameSpans(a.PositiveSpans, b.PositiveSpans) || !sameSpans(a.NegativeSpans, b.NegativeSpans):
		return fmt.Sprintf("spans %v %v vs %v %v", a.PositiveSpans, a.NegativeSpans, b.PositiveSpans, b.NegativeSpans)
	case !slices.Equal(a.PositiveBuckets, b.PositiveBuckets) || !slices.Equal(a.NegativeBuckets, b.NegativeBuckets):
		return fmt.Sprintf("buckets %v %v vs %v %v", a.PositiveBuckets, a.NegativeBuckets, b.PositiveBuckets, b.NegativeBuckets)
	case !sameFloats(a.CustomValues, b.CustomValues):
		return fmt.Sprintf("custom values %v vs %v", a.CustomValues, b.CustomValues)
	}
	return ""
}

// DiffFloatHistogram is DiffHistogram for float histograms.
func DiffFloatHistogram(a, b *histogram.FloatHistogram) string {
	if a == nil || b == nil {
		if a == b {
			return ""
		}
		return fmt.Sprintf("nil vs non-nil: %v vs %v", a, b)
	}
	switch {
	case a.CounterResetHint != b.CounterResetHint:
		return fmt.Sprintf("hint %d vs %d", a.CounterResetHint, b.CounterResetHint)
	case a.Schema != b.Schema:
		return fmt.Sprintf("schema %d vs %d", a.Schema, b.Schema)
	case !sameF(a.ZeroThreshold, b.ZeroThreshold):
		return "zero threshold"
	case !sameF(a.ZeroCount, b.ZeroCount) || !sameF(a.Count, b.Count):
		return fmt.Sprintf("counts %v/%v vs %v/%v", a.ZeroCount, a.Count, b.ZeroCount, b.Count)
	case !sameF(a.Sum, b.Sum):
		return fmt.Sprintf("sum %x vs %x", math.Float64bits(a.Sum), math.Float64bits(b.Sum))
	case !sameSpans(a.PositiveSpans, b.PositiveSpans) || !sameSpans(a.NegativeSpans, b.NegativeSpans):
		return fmt.Sprintf("spans %v %v vs %v %v", a.PositiveSpans, a.NegativeSpans, b.PositiveSpans, b.NegativeSpans)
	case !sameFloats(a.PositiveBuckets, b.PositiveBuckets) || !sameFloats(a.NegativeBuckets, b.NegativeBuckets):
		return fmt.Sprintf("buckets %v %v vs %v %v", a.PositiveBuckets, a.NegativeBuckets, b.PositiveBuckets, b.NegativeBuckets)
	case !sameFloats(a.CustomValues, b.CustomValues):
		return fmt.Sprintf("custom values %v vs %v", a.CustomValues, b.CustomValues)
	}
	return ""
}

// DiffExemplars returns "" when a and b hold the same exemplars in the same
// order, every field equal (value by bits, Ts and HasTs as they are).
func DiffExemplars(a, b []exemplar.Exemplar) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d exemplars vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if !labels.Equal(x.Labels, y.Labels) || !sameF(x.Value, y.Value) || x.Ts != y.Ts || x.HasTs != y.HasTs {
			return fmt.Sprintf("exemplar %d: %v %x %d %v vs %v %x %d %v", i,
				x.Labels, math.Float64bits(x.Value), x.Ts, x.HasTs, y.Labels, math.Float64bits(y.Value), y.Ts, y.HasTs)
		}
	}
	return ""
}

func sameF(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameF(a[i], b[i]) {
			return false
		}
	}
	return true
}

func sameSpans(a, b []histogram.Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// DiffSamples returns "" when a and b hold the same histogram samples, each
// exactly equal, or the first difference.
func DiffSamples(a, b []relay.HistogramSample) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d histogram samples vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].T != b[i].T {
			return fmt.Sprintf("histogram sample %d: t %d vs %d", i, a[i].T, b[i].T)
		}
		if d := DiffHistogram(a[i].H, b[i].H); d != "" {
			return fmt.Sprintf("histogram sample %d: %s", i, d)
		}
		if d := DiffFloatHistogram(a[i].FH, b[i].FH); d != "" {
			return fmt.Sprintf("float histogram sample %d: %s", i, d)
		}
	}
	return ""
}

// Sample returns a random histogram sample at t: integer or float.
func Sample(r *rand.Rand, t int64) relay.HistogramSample {
	if r.IntN(2) == 0 {
		return relay.HistogramSample{T: t, H: Histogram(r)}
	}
	return relay.HistogramSample{T: t, FH: FloatHistogram(r)}
}
