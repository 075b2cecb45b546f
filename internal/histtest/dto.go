package histtest

import (
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// FromDTO returns the native histogram of a client_golang histogram metric
// as Prometheus' protobuf parser reads it (integer counts; a gauge
// histogram's reset hint is GaugeType, others UnknownCounterReset), and
// its native-histogram exemplars.
func FromDTO(m *dto.Metric, gauge bool) (*histogram.Histogram, []exemplar.Exemplar) {
	d := m.GetHistogram()
	h := &histogram.Histogram{
		Schema:          d.GetSchema(),
		ZeroThreshold:   d.GetZeroThreshold(),
		ZeroCount:       d.GetZeroCount(),
		Count:           d.GetSampleCount(),
		Sum:             d.GetSampleSum(),
		PositiveSpans:   spansOf(d.GetPositiveSpan()),
		NegativeSpans:   spansOf(d.GetNegativeSpan()),
		PositiveBuckets: d.GetPositiveDelta(),
		NegativeBuckets: d.GetNegativeDelta(),
	}
	if gauge {
		h.CounterResetHint = histogram.GaugeType
	}
	var es []exemplar.Exemplar
	for _, e := range d.GetExemplars() {
		var b labels.ScratchBuilder
		for _, l := range e.GetLabel() {
			b.Add(l.GetName(), l.GetValue())
		}
		b.Sort()
		x := exemplar.Exemplar{Labels: b.Labels(), Value: e.GetValue()}
		if ts := e.GetTimestamp(); ts != nil {
			x.Ts, x.HasTs = ts.AsTime().UnixMilli(), true
		}
		es = append(es, x)
	}
	return h, es
}

func spansOf(ss []*dto.BucketSpan) []histogram.Span {
	var out []histogram.Span
	for _, s := range ss {
		out = append(out, histogram.Span{Offset: s.GetOffset(), Length: s.GetLength()})
	}
	return out
}
