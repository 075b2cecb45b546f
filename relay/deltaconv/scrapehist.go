package deltaconv

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// extrasBuffer holds the delta-model histograms and exemplars of one scrape,
// reused across scrapes like KeyBuffer's keys.
type extrasBuffer struct {
	hs []delta.Histogram
	ex []delta.Exemplar
	lb []byte
}

func (xb *extrasBuffer) reset() {
	xb.hs, xb.ex, xb.lb = xb.hs[:0], xb.ex[:0], xb.lb[:0]
}

// histogram converts hs into the next reused delta.Histogram. The result
// is valid until the next reset.
func (xb *extrasBuffer) histogram(hs *relay.HistogramSample) *delta.Histogram {
	if len(xb.hs) < cap(xb.hs) {
		xb.hs = xb.hs[:len(xb.hs)+1]
	} else {
		xb.hs = append(xb.hs, delta.Histogram{})
	}
	d := &xb.hs[len(xb.hs)-1]
	if h := hs.H; h != nil {
		*d = delta.Histogram{ResetHint: uint8(h.CounterResetHint), Schema: h.Schema,
			ZeroThreshold: math.Float64bits(h.ZeroThreshold), ZeroCount: h.ZeroCount, Count: h.Count,
			Sum:           math.Float64bits(h.Sum),
			PositiveSpans: toDeltaSpans(d.PositiveSpans, h.PositiveSpans), NegativeSpans: toDeltaSpans(d.NegativeSpans, h.NegativeSpans),
			PositiveBuckets: intBits(d.PositiveBuckets, h.PositiveBuckets), NegativeBuckets: intBits(d.NegativeBuckets, h.NegativeBuckets),
			CustomValues: floatBits(d.CustomValues, h.CustomValues)}
		return d
	}
	h := hs.FH
	*d = delta.Histogram{Float: true, ResetHint: uint8(h.CounterResetHint), Schema: h.Schema,
		ZeroThreshold: math.Float64bits(h.ZeroThreshold), ZeroCount: math.Float64bits(h.ZeroCount),
		Count: math.Float64bits(h.Count), Sum: math.Float64bits(h.Sum),
		PositiveSpans: toDeltaSpans(d.PositiveSpans, h.PositiveSpans), NegativeSpans: toDeltaSpans(d.NegativeSpans, h.NegativeSpans),
		PositiveBuckets: floatBits(d.PositiveBuckets, h.PositiveBuckets), NegativeBuckets: floatBits(d.NegativeBuckets, h.NegativeBuckets),
		CustomValues: floatBits(d.CustomValues, h.CustomValues)}
	return d
}

// exemplars converts es; the result (labels included) is valid until the
// next reset.
func (xb *extrasBuffer) exemplars(es []relay.Exemplar) []delta.Exemplar {
	start := len(xb.ex)
	for i := range es {
		e := &es[i]
		n := len(xb.lb)
		xb.lb = appendCanonical(xb.lb, e.Labels)
		// The label bytes are copied into a string: xb.lb may grow later.
		xb.ex = append(xb.ex, delta.Exemplar{Labels: string(xb.lb[n:]), V: math.Float64bits(e.Value), T: e.Ts, HasTs: e.HasTs})
	}
	return xb.ex[start:len(xb.ex):len(xb.ex)]
}

func toDeltaSpans(dst []delta.Span, spans []histogram.Span) []delta.Span {
	dst = dst[:0]
	for _, s := range spans {
		dst = append(dst, delta.Span{Offset: s.Offset, Length: s.Length})
	}
	return dst
}

func intBits(dst []uint64, vs []int64) []uint64 {
	dst = dst[:0]
	for _, v := range vs {
		dst = append(dst, uint64(v))
	}
	return dst
}

func floatBits(dst []uint64, vs []float64) []uint64 {
	dst = dst[:0]
	for _, v := range vs {
		dst = append(dst, math.Float64bits(v))
	}
	return dst
}

// fromDelta turns a rebuilt sample, its histogram and exemplars (x, may be
// nil) back into relay's types.
func fromDelta(sr *delta.Series, x *delta.Extra, out *relay.Series, parse func(string) (labels.Labels, error)) error {
	if x == nil {
		out.Samples = []relay.Sample{{T: sr.T, V: math.Float64frombits(sr.V)}}
		return nil
	}
	if h := x.H; h != nil {
		hs := relay.HistogramSample{T: sr.T}
		if h.Float {
			hs.FH = &histogram.FloatHistogram{CounterResetHint: histogram.CounterResetHint(h.ResetHint), Schema: h.Schema,
				ZeroThreshold: math.Float64frombits(h.ZeroThreshold), ZeroCount: math.Float64frombits(h.ZeroCount),
				Count: math.Float64frombits(h.Count), Sum: math.Float64frombits(h.Sum),
				PositiveSpans: fromDeltaSpans(h.PositiveSpans), NegativeSpans: fromDeltaSpans(h.NegativeSpans),
				PositiveBuckets: fromFloatBits(h.PositiveBuckets), NegativeBuckets: fromFloatBits(h.NegativeBuckets),
				CustomValues: fromFloatBits(h.CustomValues)}
		} else {
			hs.H = &histogram.Histogram{CounterResetHint: histogram.CounterResetHint(h.ResetHint), Schema: h.Schema,
				ZeroThreshold: math.Float64frombits(h.ZeroThreshold), ZeroCount: h.ZeroCount, Count: h.Count,
				Sum:           math.Float64frombits(h.Sum),
				PositiveSpans: fromDeltaSpans(h.PositiveSpans), NegativeSpans: fromDeltaSpans(h.NegativeSpans),
				PositiveBuckets: fromIntBits(h.PositiveBuckets), NegativeBuckets: fromIntBits(h.NegativeBuckets),
				CustomValues: fromFloatBits(h.CustomValues)}
		}
		if err := block.ValidHistogram(&hs); err != nil {
			return fmt.Errorf("%w: histogram of %s: %v", block.ErrCorrupt, out.Labels, err)
		}
		out.Histograms = []relay.HistogramSample{hs}
	} else {
		out.Samples = []relay.Sample{{T: sr.T, V: math.Float64frombits(sr.V)}}
	}
	if len(x.Exemplars) > 0 {
		out.Exemplars = make([]relay.Exemplar, 0, len(x.Exemplars))
		for _, e := range x.Exemplars {
			ls, err := parse(e.Labels)
			if err != nil {
				return err
			}
			out.Exemplars = append(out.Exemplars, relay.Exemplar{Labels: ls, Value: math.Float64frombits(e.V), Ts: e.T, HasTs: e.HasTs})
		}
	}
	return nil
}

func fromDeltaSpans(spans []delta.Span) []histogram.Span {
	if len(spans) == 0 {
		return nil
	}
	out := make([]histogram.Span, len(spans))
	for i, s := range spans {
		out[i] = histogram.Span{Offset: s.Offset, Length: s.Length}
	}
	return out
}

func fromIntBits(vs []uint64) []int64 {
	if len(vs) == 0 {
		return nil
	}
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = int64(v)
	}
	return out
}

func fromFloatBits(vs []uint64) []float64 {
	if len(vs) == 0 {
		return nil
	}
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = math.Float64frombits(v)
	}
	return out
}
