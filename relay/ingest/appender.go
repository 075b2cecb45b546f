package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay"
)

// errAppenderDone is returned when an appender is used after Commit or Rollback.
var errAppenderDone = errors.New("appender already committed or rolled back")

// appendable is the storage.AppendableV2 ParseScrape appends a body to,
// as Prometheus' scrape loop would: each appender collects one scrape and
// submits it as one Batch on Commit.
type appendable struct {
	sink     Sink
	ingested prometheus.Counter
	rejected *prometheus.CounterVec // by reason
}

var _ storage.AppendableV2 = (*appendable)(nil)

// AppenderV2 returns an appender for one scrape, submitting with ctx.
func (a *appendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &appender{a: a, ctx: ctx}
}

// appender collects one scrape. Not safe for concurrent use, like every
// storage.AppenderV2.
type appender struct {
	a   *appendable
	ctx context.Context

	series []relay.Series // labels only until Commit
	// first holds each series' first sample, in series order; a series'
	// Samples is its one-element window until a second sample comes.
	first    []relay.Sample
	nsamples int
	firstT   int64 // timestamp of the first sample appended
	index    map[storage.SeriesRef]int32
	collided []int32 // series whose ref was taken by other labels
	meta     map[string]relay.Metadata

	done bool
}

// Append takes one sample: a float, or a native histogram (h or fh, copied),
// with its exemplars (copied: the scrape loop reuses the slice). The
// returned ref is a hash of the labels: stable across scrapes, as the
// scrape cache expects.
func (ap *appender) Append(ref storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	if ap.done {
		return 0, errAppenderDone
	}
	if ref == 0 {
		ref = storage.SeriesRef(ls.Hash())
		if ref == 0 {
			ref = 1
		}
	}
	if family := opts.MetricFamilyName; family != "" && (opts.Metadata.Type != "" || opts.Metadata.Help != "" || opts.Metadata.Unit != "") {
		ap.addMetadata(family, opts)
	}
	if err := validHistogram(h, fh); err != nil {
		return 0, err
	}
	i := ap.seriesIndex(ref, ls)
	if ap.nsamples == 0 {
		ap.firstT = t
	}
	ap.nsamples++
	if len(opts.Exemplars) > 0 {
		ap.addExemplars(i, opts.Exemplars)
	}
	if h != nil || fh != nil {
		ap.addHistogram(i, t, h, fh)
		return ref, nil
	}
	smp := relay.Sample{T: t, V: v}
	if sr := &ap.series[i]; sr.Samples == nil {
		ap.first = append(ap.first, smp)
		sr.Samples = ap.first[len(ap.first)-1 : len(ap.first) : len(ap.first)]
	} else {
		sr.Samples = append(sr.Samples, smp) // the window is full: this copies
	}
	return ref, nil
}

func (ap *appender) addMetadata(family string, opts storage.AppendV2Options) {
	if _, ok := ap.meta[family]; ok {
		return
	}
	if ap.meta == nil {
		ap.meta = make(map[string]relay.Metadata)
	}
	// The family name's bytes live only for the Append call: copy it.
	ap.meta[strings.Clone(family)] = relay.Metadata{
		Type: string(opts.Metadata.Type),
		Help: opts.Metadata.Help,
		Unit: opts.Metadata.Unit,
	}
}

func (ap *appender) seriesIndex(ref storage.SeriesRef, ls labels.Labels) int32 {
	if i, ok := ap.index[ref]; ok {
		if labels.Equal(ap.series[i].Labels, ls) {
			return i
		}
		for _, j := range ap.collided {
			if labels.Equal(ap.series[j].Labels, ls) {
				return j
			}
		}
		j := ap.newSeries(ls)
		ap.collided = append(ap.collided, j)
		return j
	}
	if ap.index == nil {
		ap.index = make(map[storage.SeriesRef]int32)
	}
	i := ap.newSeries(ls)
	ap.index[ref] = i
	return i
}

func (ap *appender) newSeries(ls labels.Labels) int32 {
	ap.series = append(ap.series, relay.Series{Labels: ls})
	return int32(len(ap.series) - 1)
}

// Commit submits the scrape as one Batch and returns once the sink has
// taken it, with the sink's error if it did not.
func (ap *appender) Commit() error {
	if ap.done {
		return errAppenderDone
	}
	ap.done = true
	if len(ap.series) == 0 {
		return nil
	}
	ap.sortHistograms()
	b := ap.batch()
	n := ap.nsamples
	if err := ap.a.sink.Submit(ap.ctx, b); err != nil {
		ap.a.rejected.WithLabelValues("submit_failed").Add(float64(n))
		return fmt.Errorf("submit scrape of job %q instance %q: %w", b.Job, b.Instance, err)
	}
	ap.a.ingested.Add(float64(n))
	return nil
}

// Rollback drops what was appended.
func (ap *appender) Rollback() error {
	if ap.done {
		return nil
	}
	ap.done = true
	ap.series, ap.first, ap.index, ap.meta = nil, nil, nil, nil
	return nil
}

// batch builds the Batch from the series and their samples, each series'
// samples in timestamp order.
func (ap *appender) batch() *relay.Batch {
	for i := range ap.series {
		if len(ap.series[i].Samples) > 1 {
			sortSamples(ap.series[i].Samples)
		}
	}
	b := &relay.Batch{Scrape: true, Series: ap.series, Metadata: ap.meta}

	b.TargetLabels = ap.targetLabels()
	b.Job, b.Instance = b.TargetLabels.Get(model.JobLabel), b.TargetLabels.Get(model.InstanceLabel)
	if ap.nsamples > 0 {
		b.Timestamp = ap.firstT
	} else {
		b.Timestamp = time.Now().UnixMilli()
	}
	return b
}

// targetLabels returns the first series' job and instance: a parsed body
// has no target of its own.
func (ap *appender) targetLabels() labels.Labels {
	first := ap.series[0].Labels
	var sb labels.ScratchBuilder
	for _, name := range []string{model.InstanceLabel, model.JobLabel} {
		if v := first.Get(name); v != "" {
			sb.Add(name, v)
		}
	}
	return sb.Labels()
}
