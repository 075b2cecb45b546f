package ingest

import (
	"cmp"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/edgerelay/edgerelay/relay"
)

// Native histograms and exemplars of remote_write requests are converted
// with Prometheus' own conversions (the ones its remote_write receiver
// uses), so they arrive as Prometheus would store them: integer histograms
// stay integer, float ones float, every field as sent; an exemplar has
// HasTs when its timestamp is not 0.

// histogramV1 converts a remote_write 1.0 histogram.
func histogramV1(h *prompb.Histogram) relay.HistogramSample {
	if h.IsFloatHistogram() {
		return relay.HistogramSample{T: h.Timestamp, FH: h.ToFloatHistogram()}
	}
	return relay.HistogramSample{T: h.Timestamp, H: h.ToIntHistogram()}
}

// histogramV2 converts a remote_write 2.0 histogram.
func histogramV2(h *writev2.Histogram) relay.HistogramSample {
	if h.IsFloatHistogram() {
		return relay.HistogramSample{T: h.Timestamp, FH: h.ToFloatHistogram()}
	}
	return relay.HistogramSample{T: h.Timestamp, H: h.ToIntHistogram()}
}

// checkHistograms refuses a series whose histograms Prometheus' TSDB would
// refuse (spans that do not match the buckets, counts that do not add up,
// bad custom bounds), as Prometheus' receiver answers 400.
func checkHistograms(hs []relay.HistogramSample, series int) error {
	for j := range hs {
		if err := validHistogram(hs[j].H, hs[j].FH); err != nil {
			return badRequest("invalid_histogram", "series %d: histogram %d: %v", series, j, err)
		}
	}
	return nil
}

// exemplarsV2 converts the exemplars of a remote_write 2.0 series; a label
// reference out of range is a bad request.
func exemplarsV2(es []writev2.Exemplar, syms []string, series int) ([]relay.Exemplar, error) {
	if len(es) == 0 {
		return nil, nil
	}
	out := make([]relay.Exemplar, 0, len(es))
	sb := labels.NewScratchBuilder(2)
	for j := range es {
		e, err := es[j].ToExemplar(&sb, syms)
		if err != nil {
			return nil, badRequest("invalid_symbols", "series %d: exemplar %d: %v", series, j, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// sortHistogramSamples puts histogram samples in timestamp order, keeping
// the order of equal timestamps.
func sortHistogramSamples(hs []relay.HistogramSample) []relay.HistogramSample {
	cmpT := func(a, b relay.HistogramSample) int { return cmp.Compare(a.T, b.T) }
	if !slices.IsSortedFunc(hs, cmpT) {
		slices.SortStableFunc(hs, cmpT)
	}
	return hs
}
