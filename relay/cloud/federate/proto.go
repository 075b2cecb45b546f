package federate

import (
	"cmp"
	"io"
	"math"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	promfmt "github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// Native histograms reach a scraper only in the protobuf format
// (application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited), which Prometheus asks for first when its native
// histograms are on. The text format cannot hold them: there, as in
// Prometheus' own /federate, a native histogram with exponential buckets is
// left out and one with custom buckets is written as a classic histogram.
//
// The protobuf answer follows Prometheus' /federate (web/federate.go):
// series sorted by metric name, one family per run of the same name and
// kind, floats untyped unless metadata names the series a counter or gauge,
// a custom-bucket histogram as a classic one. Unlike it, an integer
// histogram keeps its integer counts (sample_count, zero_count and the
// bucket deltas) instead of being turned into float counts: scrapers read
// them exactly, and Prometheus 2.x before float histograms reads only them.
// A native histogram without buckets and without a zero bucket carries one
// empty span, as client_golang does, so the scraper does not take it for a
// classic histogram. The counter reset hint travels only as the gauge
// histogram type.
//
// Exemplars (those that came with a series' latest sample) are served where
// the protobuf format has room for them, which Prometheus' /federate does
// not do: all of them on a native histogram, one per bucket on a classic
// one, the newest on a counter. A gauge or untyped series cannot carry one,
// and neither can the text format.

// protoFormat returns the negotiated protobuf format, or "" when the
// scraper wants text.
func protoFormat(r *http.Request) promfmt.Format {
	f := promfmt.NegotiateAccept(r.Header, promfmt.NewFormat(promfmt.TypeProtoDelim), promfmt.NewFormat(promfmt.TypeTextPlain))
	if f.FormatType() != promfmt.TypeProtoDelim {
		return ""
	}
	return f
}

// writeProto writes b's series to w as length-delimited MetricFamily
// messages in format f.
func writeProto(w io.Writer, b *relay.Batch, f promfmt.Format) error {
	enc := promfmt.NewEncoder(w, f)
	slices.SortStableFunc(b.Series, func(x, y relay.Series) int {
		return cmp.Compare(x.Labels.Get(labels.MetricName), y.Labels.Get(labels.MetricName))
	})
	var fam *dto.MetricFamily
	for _, sr := range b.Series {
		name := sr.Labels.Get(labels.MetricName)
		if name == "" {
			continue
		}
		m := &dto.Metric{}
		sr.Labels.Range(func(l labels.Label) {
			if l.Name != labels.MetricName && l.Value != "" {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
			}
		})
		typ, help := dto.MetricType_UNTYPED, ""
		if len(sr.Histograms) > 0 {
			h := &sr.Histograms[0]
			m.TimestampMs = proto.Int64(h.T)
			typ, help = dto.MetricType_HISTOGRAM, b.Metadata[name].Help
			if gaugeHistogram(h) {
				typ = dto.MetricType_GAUGE_HISTOGRAM
			}
			if customBuckets(h) {
				m.Histogram = classicProto(h, sr.Exemplars)
			} else {
				m.Histogram = nativeProto(h)
				m.Histogram.Exemplars = exemplarsProto(sr.Exemplars)
			}
		} else {
			s := sr.Samples[0]
			m.TimestampMs = proto.Int64(s.T)
			if fam, md, ok := expfmt.Family(name, b.Metadata); ok && fam == name {
				help = md.Help
				switch expfmt.TextType(md.Type) {
				case "counter":
					typ = dto.MetricType_COUNTER
				case "gauge":
					typ = dto.MetricType_GAUGE
				}
			}
			switch typ {
			case dto.MetricType_COUNTER:
				m.Counter = &dto.Counter{Value: proto.Float64(s.V)}
				if n := len(sr.Exemplars); n > 0 {
					m.Counter.Exemplar = exemplarProto(sr.Exemplars[n-1])
				}
			case dto.MetricType_GAUGE:
				m.Gauge = &dto.Gauge{Value: proto.Float64(s.V)}
			default:
				m.Untyped = &dto.Untyped{Value: proto.Float64(s.V)}
			}
		}
		if fam == nil || fam.GetName() != name || fam.GetType() != typ {
			if fam != nil {
				if err := enc.Encode(fam); err != nil {
					return err
				}
			}
			fam = &dto.MetricFamily{Name: proto.String(name), Type: typ.Enum()}
			if help != "" {
				fam.Help = proto.String(help)
			}
		}
		fam.Metric = append(fam.Metric, m)
	}
	if fam != nil {
		return enc.Encode(fam)
	}
	return nil
}

// nativeProto returns the native histogram h with exponential buckets in
// the exposition's terms.
func nativeProto(h *relay.HistogramSample) *dto.Histogram {
	var out *dto.Histogram
	var pos, neg []histogram.Span
	if x := h.H; x != nil {
		out = &dto.Histogram{
			SampleCount: proto.Uint64(x.Count), SampleSum: proto.Float64(x.Sum), Schema: proto.Int32(x.Schema),
			ZeroThreshold: proto.Float64(x.ZeroThreshold), ZeroCount: proto.Uint64(x.ZeroCount),
			PositiveDelta: x.PositiveBuckets, NegativeDelta: x.NegativeBuckets,
		}
		pos, neg = x.PositiveSpans, x.NegativeSpans
	} else {
		x := h.FH
		out = &dto.Histogram{
			SampleCountFloat: proto.Float64(x.Count), SampleSum: proto.Float64(x.Sum), Schema: proto.Int32(x.Schema),
			ZeroThreshold: proto.Float64(x.ZeroThreshold), ZeroCountFloat: proto.Float64(x.ZeroCount),
			PositiveCount: x.PositiveBuckets, NegativeCount: x.NegativeBuckets,
		}
		pos, neg = x.PositiveSpans, x.NegativeSpans
	}
	out.PositiveSpan, out.NegativeSpan = spansProto(pos), spansProto(neg)
	if len(pos) == 0 && len(neg) == 0 && out.GetZeroThreshold() == 0 && out.GetZeroCount() == 0 && out.GetZeroCountFloat() == 0 {
		out.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	return out
}

func spansProto(spans []histogram.Span) []*dto.BucketSpan {
	if len(spans) == 0 {
		return nil
	}
	out := make([]*dto.BucketSpan, len(spans))
	for i, sp := range spans {
		out[i] = &dto.BucketSpan{Offset: proto.Int32(sp.Offset), Length: proto.Uint32(sp.Length)}
	}
	return out
}

// classicProto returns the custom-bucket histogram h as a classic one:
// cumulative buckets at its bounds; the +Inf bucket is implied by the count
// unless an exemplar belongs in it. Each exemplar goes to the bucket its
// value falls in, the last one winning, as a classic bucket holds one.
func classicProto(h *relay.HistogramSample, exemplars []relay.Exemplar) *dto.Histogram {
	cum := classicBuckets(h)
	out := &dto.Histogram{Bucket: make([]*dto.Bucket, len(cum), len(cum)+1)}
	var bounds []float64
	if x := h.H; x != nil {
		out.SampleCount, out.SampleSum = proto.Uint64(x.Count), proto.Float64(x.Sum)
		bounds = x.CustomValues
		for i, le := range bounds {
			out.Bucket[i] = &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCount: proto.Uint64(uint64(cum[i]))}
		}
	} else {
		x := h.FH
		out.SampleCountFloat, out.SampleSum = proto.Float64(x.Count), proto.Float64(x.Sum)
		bounds = x.CustomValues
		for i, le := range bounds {
			out.Bucket[i] = &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCountFloat: proto.Float64(cum[i])}
		}
	}
	for _, e := range exemplars {
		i, _ := slices.BinarySearch(bounds, e.Value)
		if i == len(out.Bucket) {
			inf := &dto.Bucket{UpperBound: proto.Float64(math.Inf(1)), CumulativeCount: out.SampleCount}
			if out.SampleCountFloat != nil {
				inf = &dto.Bucket{UpperBound: proto.Float64(math.Inf(1)), CumulativeCountFloat: out.SampleCountFloat}
			}
			out.Bucket = append(out.Bucket, inf)
		}
		out.Bucket[i].Exemplar = exemplarProto(e)
	}
	return out
}

func exemplarsProto(exemplars []relay.Exemplar) []*dto.Exemplar {
	if len(exemplars) == 0 {
		return nil
	}
	out := make([]*dto.Exemplar, len(exemplars))
	for i, e := range exemplars {
		out[i] = exemplarProto(e)
	}
	return out
}

func exemplarProto(e relay.Exemplar) *dto.Exemplar {
	out := &dto.Exemplar{Value: proto.Float64(e.Value)}
	e.Labels.Range(func(l labels.Label) {
		out.Label = append(out.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
	})
	if e.HasTs {
		out.Timestamp = timestamppb.New(time.UnixMilli(e.Ts))
	}
	return out
}

// textHistograms prepares b for the text format: native histograms with
// exponential buckets are left out, those with custom buckets become
// classic _bucket, _sum and _count series.
func textHistograms(b *relay.Batch) {
	var out []relay.Series
	for i, sr := range b.Series {
		if len(sr.Histograms) == 0 {
			if out != nil {
				out = append(out, sr)
			}
			continue
		}
		if out == nil {
			out = append(make([]relay.Series, 0, len(b.Series)+8), b.Series[:i]...)
		}
		if customBuckets(&sr.Histograms[0]) {
			out = appendClassic(out, b.Metadata, sr)
		}
	}
	if out != nil {
		b.Series = out
	}
}
