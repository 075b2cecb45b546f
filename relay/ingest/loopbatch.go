package ingest

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// loopBatch collects one scrape of one target into the Batch the scrape
// manager's appender would build for it (appender.go): a series per label
// set, in the order their first samples came, each series' samples in
// timestamp order, metadata by family, and the target's labels from its up
// series. A series finds its slot through loopSeries.gen and idx, so
// nothing is hashed or looked up per sample. Not safe for concurrent use.
type loopBatch struct {
	// reuse: the sink keeps nothing of a batch's series once Submit
	// returned nil, so the next scrape fills the same memory.
	reuse bool
	cache *seriesCache // numbers the batches (nextGen)
	gen   uint32

	series   []relay.Series
	first    []relay.Sample // each series' first sample, as in appender
	nsamples int
	meta     map[string]relay.Metadata
	metaHint int

	up     *loopSeries // the report's up series, once appended
	upT    int64
	upLset labels.Labels // up's label set that target was made from
	target labels.Labels // the target's labels: up's, without __name__
}

// reset empties the batch for the next scrape (or after a failed one):
// series slots of an earlier generation no longer count.
func (b *loopBatch) reset() {
	b.gen = b.cache.nextGen()
	clear(b.series)
	b.series, b.first = b.series[:0], b.first[:0]
	b.nsamples, b.meta, b.up = 0, nil, nil
}

// slot returns s's series in the batch, adding it if new.
func (b *loopBatch) slot(s *loopSeries) *relay.Series {
	if s.gen != b.gen {
		s.gen, s.idx = b.gen, int32(len(b.series))
		b.series = append(b.series, relay.Series{Labels: s.lset})
	}
	return &b.series[s.idx]
}

// add appends one sample of s: a float v, or a native histogram h or fh
// (copied), with its exemplars (copied) and its family's metadata, if any.
// An invalid histogram is refused as the appender refuses it.
func (b *loopBatch) add(s *loopSeries, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, ex []exemplar.Exemplar, family string, md *relay.Metadata) error {
	if md != nil && family != "" && (md.Type != "" || md.Help != "" || md.Unit != "") {
		b.addMeta(family, md)
	}
	if err := validHistogram(h, fh); err != nil {
		return err
	}
	sr := b.slot(s)
	b.nsamples++
	for _, e := range ex {
		e.Labels = e.Labels.Copy()
		sr.Exemplars = append(sr.Exemplars, e)
	}
	switch {
	case h != nil:
		sr.Histograms = append(sr.Histograms, relay.HistogramSample{T: t, H: h.Copy()})
	case fh != nil:
		sr.Histograms = append(sr.Histograms, relay.HistogramSample{T: t, FH: fh.Copy()})
	case sr.Samples == nil:
		b.first = append(b.first, relay.Sample{T: t, V: v})
		n := len(b.first)
		sr.Samples = b.first[n-1 : n : n]
	default:
		sr.Samples = append(sr.Samples, relay.Sample{T: t, V: v}) // the window is full: this copies
	}
	return nil
}

func (b *loopBatch) addMeta(family string, md *relay.Metadata) {
	if _, ok := b.meta[family]; ok {
		return
	}
	if b.meta == nil {
		b.meta = make(map[string]relay.Metadata, b.metaHint)
	}
	b.meta[family] = *md
}

// addUp appends the report's up sample; its series gives the batch's
// target labels and timestamp.
func (b *loopBatch) addUp(s *loopSeries, t int64, v float64) {
	_ = b.add(s, t, v, nil, nil, nil, "up", &upMetadata)
	b.up, b.upT = s, t
	if !labels.Equal(b.upLset, s.lset) {
		b.upLset, b.target = s.lset, s.lset.DropMetricName()
	}
}

// batch returns the collected scrape as a Batch; the batch's memory is
// the sink's from here, and taken back by done when the sink allows it.
func (b *loopBatch) batch(fallback labels.Labels, now int64) *relay.Batch {
	for i := range b.series {
		sr := &b.series[i]
		if len(sr.Samples) > 1 {
			sortSamples(sr.Samples)
		}
	}
	sortSeriesHistograms(b.series)
	bt := &relay.Batch{Scrape: true, Series: b.series, Metadata: b.meta, TargetLabels: fallback, Timestamp: now}
	if b.up != nil {
		bt.TargetLabels, bt.Timestamp = b.target, b.upT
	}
	bt.Job, bt.Instance = bt.TargetLabels.Get(model.JobLabel), bt.TargetLabels.Get(model.InstanceLabel)
	if n := len(b.meta); n > b.metaHint {
		b.metaHint = n
	}
	return bt
}

// done takes the batch's memory back after the sink took it (ok) or
// refused it; without reuse, or after a refusal, the next scrape starts
// from new memory of the same size.
func (b *loopBatch) done(ok bool) {
	n, nf := len(b.series), len(b.first)
	if !ok || !b.reuse {
		b.series = make([]relay.Series, 0, n)
		b.first = make([]relay.Sample, 0, nf)
	}
	b.reset()
}
