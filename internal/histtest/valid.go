package histtest

import (
	"math"
	"math/rand/v2"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// validLayout returns a schema, spans, bucket count and custom bounds that
// Prometheus' Validate accepts, for one side (custom buckets: positive only).
func validLayout(r *rand.Rand, custom bool) (spans []histogram.Span, n int) {
	for i := range r.IntN(4) {
		off := int32(r.IntN(4))
		if i == 0 && !custom {
			off = int32(r.IntN(9) - 4)
		}
		s := histogram.Span{Offset: off, Length: uint32(r.IntN(5))}
		n += int(s.Length)
		spans = append(spans, s)
	}
	return spans, n
}

func customBounds(r *rand.Rand, spans []histogram.Span) []float64 {
	total := 0
	for _, s := range spans {
		total += int(s.Length) + int(s.Offset)
	}
	out := make([]float64, total+r.IntN(3))
	v := -1.5
	for i := range out {
		v += 0.25 + float64(r.IntN(40))
		out[i] = v
	}
	return out
}

func count(r *rand.Rand) uint64 {
	if r.IntN(10) == 0 {
		return uint64(r.IntN(1 << 30))
	}
	return uint64(r.IntN(100))
}

// ValidHistogram returns a random integer histogram Prometheus' Validate
// accepts (so a remote_write receiver takes it): any schema from -4 to 8
// or custom buckets, one in five a staleness marker, reset hint 0-3.
func ValidHistogram(r *rand.Rand) *histogram.Histogram {
	custom := r.IntN(4) == 0
	h := &histogram.Histogram{CounterResetHint: histogram.CounterResetHint(r.IntN(4)), Sum: Float(r)}
	var np, nn int
	h.PositiveSpans, np = validLayout(r, custom)
	if custom {
		h.Schema = histogram.CustomBucketsSchema
		h.CustomValues = customBounds(r, h.PositiveSpans)
	} else {
		h.Schema = int32(r.IntN(13) - 4)
		h.ZeroThreshold = []float64{0, 1e-128, 0.001, math.Ldexp(1, -r.IntN(60))}[r.IntN(4)]
		h.ZeroCount = count(r)
		h.NegativeSpans, nn = validLayout(r, false)
	}
	total := h.ZeroCount
	deltas := func(n int) []int64 {
		var out []int64
		prev := int64(0)
		for range n {
			c := count(r)
			total += c
			out = append(out, int64(c)-prev)
			prev = int64(c)
		}
		return out
	}
	h.PositiveBuckets, h.NegativeBuckets = deltas(np), deltas(nn)
	h.Count = total
	if r.IntN(5) == 0 {
		h.Sum = math.Float64frombits(value.StaleNaN)
	}
	if err := h.Validate(); err != nil {
		panic("BUG: histtest made an invalid histogram: " + err.Error())
	}
	return h
}

// ValidFloatHistogram is ValidHistogram for float histograms (counts with
// fractions).
func ValidFloatHistogram(r *rand.Rand) *histogram.FloatHistogram {
	custom := r.IntN(4) == 0
	h := &histogram.FloatHistogram{CounterResetHint: histogram.CounterResetHint(r.IntN(4)), Sum: Float(r)}
	var np, nn int
	h.PositiveSpans, np = validLayout(r, custom)
	fcount := func() float64 { return float64(count(r)) / 4 }
	if custom {
		h.Schema = histogram.CustomBucketsSchema
		h.CustomValues = customBounds(r, h.PositiveSpans)
	} else {
		h.Schema = int32(r.IntN(13) - 4)
		h.ZeroThreshold = []float64{0, 1e-128, 0.001}[r.IntN(3)]
		h.ZeroCount = fcount()
		h.NegativeSpans, nn = validLayout(r, false)
	}
	total := h.ZeroCount
	counts := func(n int) []float64 {
		var out []float64
		for range n {
			c := fcount()
			total += c
			out = append(out, c)
		}
		return out
	}
	h.PositiveBuckets, h.NegativeBuckets = counts(np), counts(nn)
	h.Count = total
	if r.IntN(5) == 0 {
		h.Sum = math.Float64frombits(value.StaleNaN)
	}
	if err := h.Validate(); err != nil {
		panic("BUG: histtest made an invalid float histogram: " + err.Error())
	}
	return h
}

// ValidSample returns a random valid histogram sample at t: integer or float.
func ValidSample(r *rand.Rand, t int64) relay.HistogramSample {
	if r.IntN(2) == 0 {
		return relay.HistogramSample{T: t, H: ValidHistogram(r)}
	}
	return relay.HistogramSample{T: t, FH: ValidFloatHistogram(r)}
}
