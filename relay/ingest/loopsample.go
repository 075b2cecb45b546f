package ingest

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay"
)

// sample takes the sample or histogram entry the parser is at.
func (a *loopAppend) sample(isHist bool) error {
	a.total++
	var (
		met []byte
		pts *int64
		v   float64
		h   *histogram.Histogram
		fh  *histogram.FloatHistogram
	)
	if isHist {
		met, pts, h, fh = a.p.Histogram()
	} else {
		met, pts, v = a.p.Series()
	}
	o := &a.l.opts
	if !o.honorTimestamps {
		pts = nil
	}
	t := a.defTime
	if pts != nil {
		t = *pts
	}
	c := a.l.cache
	e, already := c.lookup(met)
	if e != nil && e.s == nil {
		return nil // dropped by metric relabelling
	}
	var s *loopSeries
	if e != nil {
		s = e.s
	} else {
		var err error
		if s, err = a.newSeries(met); err != nil || s == nil {
			return err
		}
	}
	var err error
	if already && pts == nil {
		err = storage.ErrDuplicateSampleForTimestamp
	} else {
		if isHist && h == nil && fh == nil {
			return fmt.Errorf("parser returned nil histogram/float histogram for a histogram entry type for %v series; parser bug; aborting", s.lset.String())
		}
		a.exemplars = readExemplars(a.p, a.exemplars[:0], &a.e, t, isHist)
		family, md := a.metadataFor(s)
		err = a.append(s, e != nil, t, v, h, fh, a.exemplars, family, md)
	}
	trackable := pts == nil || o.trackTSStaleness
	if err == nil && trackable && e != nil {
		c.track(s)
	}
	added, err := a.checkAddError(err)
	if err != nil {
		return err
	}
	if e == nil && added {
		e = c.add(met, s, true)
		if a.sampleLimitErr == nil && a.bucketErr == nil {
			a.seriesAdded++
		}
	}
	if e != nil && trackable && added {
		c.track(e.s)
	}
	a.added++
	return nil
}

// newSeries builds the label set of a series the cache does not know:
// the exposed labels with the target's and metric_relabel_configs
// applied. It returns nil, nil for a series relabelling dropped (now
// cached as dropped), and an error for a label set the scrape fails on.
func (a *loopAppend) newSeries(met []byte) (*loopSeries, error) {
	a.p.Labels(&a.lset)
	lset := a.l.mutate(a.lset)
	if lset.IsEmpty() {
		a.l.cache.addDropped(met)
		return nil, nil
	}
	if !lset.Has(model.MetricNameLabel) {
		return nil, errLoopNoName
	}
	if !lset.IsValid(a.l.opts.validation) {
		return nil, fmt.Errorf("invalid metric name or label names: %s", lset.String())
	}
	if err := checkLabelLimits(lset, a.l.opts.cfg); err != nil {
		a.l.m.labelLimits.Inc()
		return nil, err
	}
	return a.l.cache.series(lset), nil
}

// metadataFor returns the family and metadata given last, if s belongs to
// that family; once a series does not, none is passed until the next.
func (a *loopAppend) metadataFor(s *loopSeries) (string, *relay.Metadata) {
	m := a.lastMeta
	if m == nil {
		return "", nil
	}
	fam := unsafe.String(unsafe.SliceData(a.lastFamily), len(a.lastFamily))
	if !isSeriesPartOfFamily(s.lset.Get(model.MetricNameLabel), fam, model.MetricType(m.md.Type)) {
		a.lastMeta = nil
		return "", nil
	}
	return m.name, &m.md
}

// append applies the scrape loop's limits, outermost first as Prometheus
// wraps its appender (schema, bucket limit, sample limit, time), then adds
// the sample to the batch. cached: the series was in the cache (its
// staleness markers bypass sample_limit).
func (a *loopAppend) append(s *loopSeries, cached bool, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, ex []exemplar.Exemplar, family string, md *relay.Metadata) error {
	o := &a.l.opts
	if o.maxSchema < histogram.ExponentialSchemaMax {
		if err := reduceSchema(h, fh, o.maxSchema); err != nil {
			return err
		}
	}
	if o.bucketLimit > 0 {
		if err := limitBuckets(h, fh, o.bucketLimit); err != nil {
			return err
		}
	}
	if o.sampleLimit > 0 && (!cached || !value.IsStaleNaN(v)) {
		a.limited++
		if a.limited > o.sampleLimit {
			return errLoopSampleLimit
		}
	}
	if t > a.maxT {
		return storage.ErrOutOfBounds
	}
	return a.l.batch.add(s, t, v, h, fh, ex, family, md)
}

// checkAddError sorts an append's error as the scrape loop does: limits
// are remembered (the scrape goes on, to count every sample, and fails at
// the end); duplicates and samples too far ahead are dropped and counted;
// anything else fails the scrape now.
func (a *loopAppend) checkAddError(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errLoopSampleLimit):
		a.sampleLimitErr = err
	case errors.Is(err, errLoopBucketLimit):
		a.bucketErr = err
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		a.dups++
		a.l.m.duplicate.Inc()
	case errors.Is(err, storage.ErrOutOfBounds):
		a.outOfBounds++
		a.l.m.outOfBounds.Inc()
	default:
		return false, err
	}
	return false, nil
}

// reduceSchema lowers a native histogram's resolution to at most max, as
// native_histogram_min_bucket_factor asks.
func reduceSchema(h *histogram.Histogram, fh *histogram.FloatHistogram, max int32) error {
	if h != nil && histogram.IsExponentialSchemaReserved(h.Schema) && h.Schema > max {
		if err := h.ReduceResolution(max); err != nil {
			return err
		}
	}
	if fh != nil && histogram.IsExponentialSchemaReserved(fh.Schema) && fh.Schema > max {
		if err := fh.ReduceResolution(max); err != nil {
			return err
		}
	}
	return nil
}

// limitBuckets applies native_histogram_bucket_limit: an exponential
// histogram loses resolution until it fits, any other fails the sample.
func limitBuckets(h *histogram.Histogram, fh *histogram.FloatHistogram, limit int) error {
	if h != nil {
		if len(h.PositiveBuckets)+len(h.NegativeBuckets) > limit && !histogram.IsExponentialSchema(h.Schema) {
			return errLoopBucketLimit
		}
		for len(h.PositiveBuckets)+len(h.NegativeBuckets) > limit {
			if h.Schema <= histogram.ExponentialSchemaMin {
				return errLoopBucketLimit
			}
			if err := h.ReduceResolution(h.Schema - 1); err != nil {
				return err
			}
		}
	}
	if fh != nil {
		if len(fh.PositiveBuckets)+len(fh.NegativeBuckets) > limit && !histogram.IsExponentialSchema(fh.Schema) {
			return errLoopBucketLimit
		}
		for len(fh.PositiveBuckets)+len(fh.NegativeBuckets) > limit {
			if fh.Schema <= histogram.ExponentialSchemaMin {
				return errLoopBucketLimit
			}
			if err := fh.ReduceResolution(fh.Schema - 1); err != nil {
				return err
			}
		}
	}
	return nil
}
