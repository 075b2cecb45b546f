package ingest

import (
	"cmp"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/edgerelay/edgerelay/relay"
)

// validHistogram checks a native histogram as Prometheus' TSDB does before
// storing one (spans against buckets, counts, custom bounds): an invalid one
// fails the append, and so the scrape, as in Prometheus; a remote_write
// request holding one is refused.
func validHistogram(h *histogram.Histogram, fh *histogram.FloatHistogram) error {
	switch {
	case h != nil:
		return h.Validate()
	case fh != nil:
		return fh.Validate()
	}
	return nil
}

// addHistogram appends a native histogram sample to series i. The scrape
// loop's histogram is copied: the batch outlives the Append call.
func (ap *appender) addHistogram(i int32, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) {
	hs := relay.HistogramSample{T: t}
	if h != nil {
		hs.H = h.Copy()
	} else {
		hs.FH = fh.Copy()
	}
	sr := &ap.series[i]
	sr.Histograms = append(sr.Histograms, hs)
}

// addExemplars appends the exemplars of one sample to series i, copied
// (the scrape loop reuses its slice).
func (ap *appender) addExemplars(i int32, es []relay.Exemplar) {
	sr := &ap.series[i]
	for _, e := range es {
		e.Labels = e.Labels.Copy()
		sr.Exemplars = append(sr.Exemplars, e)
	}
}

// sortHistograms puts each series' histogram samples in timestamp order,
// as batch does for float samples.
func (ap *appender) sortHistograms() { sortSeriesHistograms(ap.series) }

// sortSeriesHistograms puts each series' histogram samples in timestamp
// order, keeping the order of samples with equal timestamps.
func sortSeriesHistograms(series []relay.Series) {
	for i := range series {
		if hs := series[i].Histograms; len(hs) > 1 {
			slices.SortStableFunc(hs, func(a, b relay.HistogramSample) int { return cmp.Compare(a.T, b.T) })
		}
	}
}
