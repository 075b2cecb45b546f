package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// A scrape's timestamp is put back on the interval's grid when it is at
// most this late (and at most a hundredth of the interval), as
// Prometheus' scrape loop does, so that samples compress well.
const (
	alignScrapeTimestamps    = true
	scrapeTimestampTolerance = 2 * time.Millisecond
)

// loopOptions are a job's settings as one target's loop applies them.
type loopOptions struct {
	cfg                                            *scrapeconf.ScrapeConfig
	honorLabels, honorTimestamps, trackTSStaleness bool
	sampleLimit, bucketLimit                       int
	maxSchema                                      int32
	validation                                     model.ValidationScheme
	parser                                         textparse.ParserOptions
	mrc                                            []*relabel.Config
	interval, timeout                              time.Duration
	extraMetrics                                   bool // extra_scrape_metrics
}

// targetLoop scrapes one target at its interval and submits each scrape
// as one Batch, as Prometheus' scrape loop does with the edge's appender:
// the same samples, staleness markers, report series, metadata and
// target labels, in the same Batch. Its cache, batch and buffers belong
// to its goroutine; stop, setForcedError and disableEndStaleness may be
// called from others.
type targetLoop struct {
	log    *slog.Logger
	target *Target
	sink   Sink
	m      *loopMetrics
	opts   loopOptions
	now    func() time.Time
	fetch  *fetcher

	ctx       context.Context // the loop's: cancelled by stop
	cancel    context.CancelFunc
	parentCtx context.Context // the pool's: cancelled when the job stops
	stopped   chan struct{}
	forcedMu  sync.Mutex
	forced    error
	noEndRun  atomic.Bool

	cache   *seriesCache
	batch   loopBatch
	app     loopAppend
	symbols *labels.SymbolTable
	tlabels []labels.Label // the target's public labels
	lb      *labels.Builder
	clash   []labels.Label
}

func newTargetLoop(p *loopPool, t *Target, client *http.Client, opts loopOptions, cache *seriesCache) *targetLoop {
	if cache == nil {
		cache = newSeriesCache()
	}
	ctx, cancel := context.WithCancel(p.ctx)
	l := &targetLoop{
		log: p.m.log.With("scrape_pool", p.cfg.JobName, "target", t.String()), target: t,
		sink: p.m.sink, m: p.m.metrics, opts: opts, now: time.Now,
		ctx: ctx, cancel: cancel, parentCtx: p.ctx, stopped: make(chan struct{}),
		cache: cache, batch: loopBatch{reuse: p.m.reuse, cache: cache}, symbols: labels.NewSymbolTable(),
		lb: labels.NewBuilder(labels.EmptyLabels()),
	}
	l.batch.reset()
	t.LabelsRange(func(lbl labels.Label) { l.tlabels = append(l.tlabels, lbl) })
	l.fetch = newFetcher(t, client, p.cfg, opts.timeout, p.m.metrics)
	return l
}

func (l *targetLoop) setForcedError(err error) {
	l.forcedMu.Lock()
	l.forced = err
	l.forcedMu.Unlock()
}

func (l *targetLoop) forcedError() error {
	l.forcedMu.Lock()
	defer l.forcedMu.Unlock()
	return l.forced
}

// stop ends the loop; like Prometheus' it may still write end-of-run
// staleness markers after returning, until the pool's context ends.
func (l *targetLoop) stop() {
	l.cancel()
	<-l.stopped
}

// run scrapes until stop, at a fixed offset into each interval.
func (l *targetLoop) run() {
	var last time.Time
	ticker := time.NewTicker(l.opts.interval)
	defer func() {
		close(l.stopped)
		if l.parentCtx.Err() == nil && !l.noEndRun.Load() {
			l.endOfRunStaleness(last, ticker)
		}
		ticker.Stop()
		l.fetch.free()
	}()
	select {
	case <-time.After(l.offset()):
	case <-l.ctx.Done():
		return
	}
	ticker.Reset(l.opts.interval)
	aligned := time.Now().Round(0)
	for {
		select {
		case <-l.ctx.Done():
			return
		default:
		}
		scrapeTime := time.Now().Round(0)
		if alignScrapeTimestamps {
			tolerance := min(l.opts.interval/100, scrapeTimestampTolerance)
			for scrapeTime.Sub(aligned) >= l.opts.interval {
				aligned = aligned.Add(l.opts.interval)
			}
			if scrapeTime.Sub(aligned) <= tolerance {
				scrapeTime = aligned
			}
		}
		last = l.scrapeAndReport(scrapeTime)
		select {
		case <-l.ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// offset is how long to wait for the target's first scrape: a fixed
// point in the interval, from a hash of the target, so that targets
// spread over it.
func (l *targetLoop) offset() time.Duration {
	iv := int64(l.opts.interval)
	f := fnv.New64a()
	for _, lbl := range l.tlabels {
		f.Write([]byte(lbl.Name + "\xff" + lbl.Value + "\xff"))
	}
	f.Write([]byte(l.target.URL().String()))
	h := f.Sum64()
	next := iv - time.Now().UnixNano()%iv + int64(h%uint64(iv))
	if next > iv {
		next -= iv
	}
	return time.Duration(next)
}

// scrapeAndReport scrapes once, appends the scrape (or, when it failed,
// staleness markers) and its report series, and submits the batch.
func (l *targetLoop) scrapeAndReport(appendTime time.Time) time.Time {
	start := time.Now()
	defTime := appendTime.UnixMilli()
	var total, added, seriesAdded, bodySize int
	scrapeErr := l.forcedError()
	if scrapeErr != nil {
		_, _, _, _ = l.appendScrape(nil, "", defTime)
	} else {
		ctx, cancel := context.WithTimeout(l.parentCtx, l.opts.timeout)
		body, contentType, err := l.fetch.get(ctx)
		cancel()
		switch {
		case err == nil:
			bodySize = len(body)
		case errors.Is(err, errLoopBodySize):
			bodySize = -1
		}
		if err != nil {
			l.log.Debug("Scrape failed", "err", err)
			scrapeErr, body = err, nil
		}
		var appErr error
		total, added, seriesAdded, appErr = l.appendScrape(body, contentType, defTime)
		l.fetch.release() // the body is parsed: nothing refers to it any more
		if appErr != nil {
			l.batch.reset() // the scrape's samples go; staleness markers come instead
			l.log.Debug("Append failed", "err", appErr)
			_, _, _, _ = l.appendScrape(nil, "", defTime)
			if scrapeErr == nil {
				scrapeErr = appErr
			}
		}
	}
	l.target.Report(start, time.Since(start), scrapeErr)
	health := 0.0
	if scrapeErr == nil {
		health = 1
	}
	l.report(defTime, reportValues{health, time.Since(start).Seconds(), float64(total), float64(added), float64(seriesAdded),
		l.opts.timeout.Seconds(), float64(l.opts.sampleLimit), float64(bodySize)})
	l.commit()
	if l.opts.extraMetrics {
		l.m.scrapeDuration.Observe(time.Since(start).Seconds())
	}
	return start
}

// endOfRunStaleness writes staleness markers for every series of a target
// that went away, as Prometheus does: at the time its next scrape would
// have been, once a further interval and a tenth have passed without the
// job stopping or the markers being disabled.
func (l *targetLoop) endOfRunStaleness(last time.Time, ticker *time.Ticker) {
	if last.IsZero() {
		return
	}
	var staleTime time.Time
	select {
	case <-l.parentCtx.Done():
		return
	case <-ticker.C:
		staleTime = time.Now()
	}
	select {
	case <-l.parentCtx.Done():
		return
	case <-ticker.C:
	}
	select {
	case <-l.parentCtx.Done():
		return
	case <-time.After(l.opts.interval / 10):
	}
	if l.noEndRun.Load() {
		return
	}
	t := staleTime.UnixMilli()
	_, _, _, _ = l.appendScrape(nil, "", t)
	l.report(t, staleReport)
	l.commit()
}

// commit submits the batch and returns once the sink has taken it.
func (l *targetLoop) commit() {
	b := &l.batch
	if len(b.series) == 0 {
		b.done(true)
		return
	}
	var fallback labels.Labels // target labels for a batch without up: never in practice
	if b.up == nil {
		fallback = l.target.Labels(l.lb)
	}
	bt := b.batch(fallback, l.now().UnixMilli())
	n := b.nsamples
	if err := l.sink.Submit(l.parentCtx, bt); err != nil {
		l.m.rejected.WithLabelValues("submit_failed").Add(float64(n))
		l.log.Error("Scrape commit failed", "err", fmt.Errorf("submit scrape of job %q instance %q: %w", bt.Job, bt.Instance, err))
		b.done(false)
		return
	}
	l.m.ingested.Add(float64(n))
	b.done(true)
}
