package federate

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// A series' latest sample is a float or a native histogram, whichever has
// the newer timestamp (the histogram on a tie), as in Prometheus' TSDB where
// a series holds one sample per timestamp of either kind. A histogram whose
// sum is the staleness NaN is a staleness marker, as a float StaleNaN is.

// latest returns the newest sample of sr: as a float sample with hist nil,
// or as hist (last.T its timestamp). ok is false when sr holds neither.
func latest(sr *relay.Series) (last relay.Sample, hist *relay.HistogramSample, ok bool) {
	if n := len(sr.Samples); n > 0 {
		last, ok = sr.Samples[n-1], true
	}
	for i := len(sr.Histograms) - 1; i >= 0; i-- {
		h := &sr.Histograms[i]
		if h.H == nil && h.FH == nil {
			continue
		}
		if !ok || h.T >= last.T {
			return relay.Sample{T: h.T}, h, true
		}
		break
	}
	return last, nil, ok
}

// extra is what a series holds beyond a float: its latest sample when that
// is a native histogram, and the exemplars that came with the latest sample
// (the newest maxExemplars of them).
type extra struct {
	h  *relay.HistogramSample
	ex []relay.Exemplar
}

// maxExemplars bounds the exemplars kept per series (client_golang keeps
// 10 per native histogram by default).
const maxExemplars = 10

// extraOf returns the extra of a series whose latest sample is hist (nil
// for a float) and whose exemplars sr holds, copied so later changes to
// the batch do not reach the store; nil when there is none.
func extraOf(hist *relay.HistogramSample, sr *relay.Series) *extra {
	if hist == nil && len(sr.Exemplars) == 0 {
		return nil
	}
	x := &extra{}
	if hist != nil {
		x.h = &relay.HistogramSample{T: hist.T}
		if hist.H != nil {
			x.h.H = hist.H.Copy()
		} else {
			x.h.FH = hist.FH.Copy()
		}
	}
	if n := len(sr.Exemplars); n > 0 {
		x.ex = make([]relay.Exemplar, 0, min(n, maxExemplars))
		for _, e := range sr.Exemplars[max(0, n-maxExemplars):] {
			e.Labels = e.Labels.Copy()
			x.ex = append(x.ex, e)
		}
	}
	return x
}

// series returns e's latest sample as a one-sample series, with its
// exemplars. The histogram and exemplars are shared: callers only read them.
func (e *entry) series() relay.Series {
	s := relay.Series{Labels: e.lset}
	if e.x != nil {
		s.Exemplars = e.x.ex
		if e.x.h != nil {
			s.Histograms = []relay.HistogramSample{*e.x.h}
			return s
		}
	}
	s.Samples = []relay.Sample{{T: e.t, V: e.v}}
	return s
}

// customBuckets reports whether h uses custom bucket bounds (NHCB).
func customBuckets(h *relay.HistogramSample) bool {
	if h.H != nil {
		return h.H.UsesCustomBuckets()
	}
	return h.FH.UsesCustomBuckets()
}

// gaugeHistogram reports whether h is a gauge histogram.
func gaugeHistogram(h *relay.HistogramSample) bool {
	if h.H != nil {
		return h.H.CounterResetHint == histogram.GaugeType
	}
	return h.FH.CounterResetHint == histogram.GaugeType
}

// classicBuckets returns the cumulative count of every custom bucket of a
// custom-bucket histogram h, in CustomValues order (the +Inf bucket, which
// is the count, left out).
func classicBuckets(h *relay.HistogramSample) []float64 {
	fh := h.FH
	if h.H != nil {
		fh = h.H.ToFloat(nil)
	}
	out := make([]float64, len(fh.CustomValues))
	it := fh.PositiveBucketIterator()
	more := it.Next()
	cum := 0.0
	for i := range fh.CustomValues {
		for more && int(it.At().Index) < i {
			more = it.Next()
		}
		if more && int(it.At().Index) == i {
			cum += it.At().Count
		}
		out[i] = cum
	}
	return out
}

// appendClassic appends the _bucket, _sum and _count float series of the
// custom-bucket histogram series sr to dst, the way Prometheus' /federate
// writes such a histogram in the text format, and marks its family a
// histogram in md unless md knows it.
func appendClassic(dst []relay.Series, md map[string]relay.Metadata, sr relay.Series) []relay.Series {
	h := &sr.Histograms[0]
	count, sum, bounds := 0.0, 0.0, []float64(nil)
	if h.H != nil {
		count, sum, bounds = float64(h.H.Count), h.H.Sum, h.H.CustomValues
	} else {
		count, sum, bounds = h.FH.Count, h.FH.Sum, h.FH.CustomValues
	}
	name := sr.Labels.Get(labels.MetricName)
	lb := labels.NewBuilder(sr.Labels)
	add := func(suffix string, v float64) {
		lb.Set(labels.MetricName, name+suffix)
		dst = append(dst, relay.Series{Labels: lb.Labels(), Samples: []relay.Sample{{T: h.T, V: v}}})
	}
	cum := classicBuckets(h)
	for i, le := range bounds {
		lb.Set("le", string(expfmt.AppendFloat(nil, le)))
		add("_bucket", cum[i])
	}
	if n := len(bounds); n == 0 || !math.IsInf(bounds[n-1], 1) {
		lb.Set("le", "+Inf")
		add("_bucket", count)
	}
	lb.Del("le")
	add("_sum", sum)
	add("_count", count)
	if _, ok := md[name]; !ok {
		md[name] = relay.Metadata{Type: "histogram"}
	}
	return dst
}
