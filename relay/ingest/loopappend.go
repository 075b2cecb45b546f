package ingest

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
)

var (
	errLoopSampleLimit = errors.New("sample limit exceeded")
	errLoopBucketLimit = errors.New("histogram bucket limit exceeded")
	errLoopNoName      = fmt.Errorf("missing metric name (%s label)", model.MetricNameLabel)
)

// staleNaN is Prometheus' staleness marker.
var staleNaN = math.Float64frombits(value.StaleNaN)

// loopAppend is one scrape's pass over the parser: Prometheus' scrape loop
// append (sample by sample: the cache, target labels and metric
// relabelling for new series, duplicates, exemplars, metadata, the limits
// and staleness tracking) writing into the target's loopBatch. Its memory
// is the target loop's, reused scrape after scrape.
type loopAppend struct {
	l *targetLoop
	p textparse.Parser

	defTime, maxT             int64
	limited                   int // samples counted against sample_limit
	sampleLimitErr, bucketErr error
	lastMeta                  *loopMeta
	lastFamily                []byte
	exemplars                 []exemplar.Exemplar
	e                         exemplar.Exemplar
	lset                      labels.Labels
	dups, outOfBounds         int

	total, added, seriesAdded int
}

// appendScrape takes one scrape's body into the batch, as Prometheus'
// scrape loop append does: an empty body (a failed scrape) only adds
// staleness markers for every series of the last scrape; a parse error,
// an invalid label set or a limit exceeded fails it (the caller then
// discards the batch and appends an empty scrape).
func (l *targetLoop) appendScrape(body []byte, contentType string, defTime int64) (total, added, seriesAdded int, err error) {
	if len(body) == 0 {
		l.appendStale(defTime)
		l.cache.iterDone(false)
		return 0, 0, 0, nil
	}
	p, err := textparse.New(body, contentType, l.symbols, l.opts.parser)
	if p == nil {
		l.log.Error("Failed to determine correct type of scrape target.", "content_type", contentType,
			"fallback_media_type", l.opts.parser.FallbackContentType, "err", err)
		return 0, 0, 0, err
	}
	a := &l.app
	*a = loopAppend{l: l, p: p, defTime: defTime, maxT: l.now().Add(maxAheadTime).UnixMilli(), exemplars: a.exemplars[:0]}
	for {
		var et textparse.Entry
		if et, err = p.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			break
		}
		if a.metadataEntry(et) {
			continue
		}
		if err = a.sample(et == textparse.EntryHistogram); err != nil {
			break
		}
	}
	if a.sampleLimitErr != nil {
		if err == nil {
			err = a.sampleLimitErr
		}
		l.m.sampleLimit.Inc()
	}
	if a.bucketErr != nil {
		if err == nil {
			err = a.bucketErr
		}
		l.m.bucketLimit.Inc()
	}
	a.logDrops()
	if err == nil {
		l.appendStale(defTime)
		l.cache.iterDone(true)
	}
	a.p, a.lastMeta, a.lastFamily, a.lset = nil, nil, nil, labels.EmptyLabels()
	return a.total, a.added, a.seriesAdded, err
}

// appendStale adds a staleness marker for every series tracked in the
// last scrape and not in this one.
func (l *targetLoop) appendStale(defTime int64) {
	l.cache.forEachStale(func(s *loopSeries) bool {
		_ = l.batch.add(s, defTime, staleNaN, nil, nil, nil, "", nil)
		return true
	})
}

func (a *loopAppend) logDrops() {
	if a.dups > 0 {
		a.l.log.Warn("Error on ingesting samples with different value but same timestamp", "num_dropped", a.dups)
	}
	if a.outOfBounds > 0 {
		a.l.log.Warn("Error on ingesting samples that are too old or are too far into the future", "num_dropped", a.outOfBounds)
	}
}

// metadataEntry records a TYPE, HELP or UNIT entry in the cache and
// reports whether et was one of them or a comment.
func (a *loopAppend) metadataEntry(et textparse.Entry) bool {
	switch et {
	case textparse.EntryType:
		name, t := a.p.Type()
		setChanged(&a.family(name).md.Type, []byte(t))
	case textparse.EntryHelp:
		name, help := a.p.Help()
		setChanged(&a.family(name).md.Help, help)
	case textparse.EntryUnit:
		name, unit := a.p.Unit()
		setChanged(&a.family(name).md.Unit, unit)
	case textparse.EntryComment:
	default:
		return false
	}
	return true
}

// family makes name's the family whose metadata was given last.
func (a *loopAppend) family(name []byte) *loopMeta {
	a.lastFamily, a.lastMeta = name, a.l.cache.setMeta(name)
	return a.lastMeta
}

// setChanged sets *dst to b, allocating only when it changed.
func setChanged(dst *string, b []byte) {
	if *dst != string(b) {
		*dst = string(b)
	}
}
