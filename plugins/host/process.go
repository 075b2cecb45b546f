package host

import (
	"context"
	"fmt"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// scratch is Process's reusable working memory, so the steady path
// (every series a memo hit) allocates nothing.
type scratch struct {
	res        []result        // per series of the batch
	miss       []int           // indexes of series not in the memo
	missIn     []labels.Labels // label sets to resolve through the stages
	missOut    []result        // their answers
	cur        []labels.Labels // per miss: labels so far
	drop       []int32         // per miss: stage that dropped it, or -1
	alive      []int           // misses still alive at the current stage
	tmp        []labels.Labels
	tmpOp      []byte
	req        []byte
	sb         labels.ScratchBuilder
	exitSeries []int64
	exitSmpl   []int64
	smpl       abi.Samples
	refIdx     map[uint32]int32
	count      []int32
	in         []int32 // per series: float samples before a sample-level stage
	keep       []int32 // series a sample-level stage keeps without float samples
	rd         abi.Reader
}

type result struct {
	out       labels.Labels
	stage     int32 // dropping stage or -1
	ref       uint32
	transient bool // a stage was bypassed on failure: not remembered
	derived   bool // emitted by a stream stage
}

// targetKey names the target a scrape batch came from.
type targetKey struct{ job, instance string }

// lastScrape is what the previous scrape of one target looked like: a
// target exposes its series in the same order scrape after scrape, so
// comparing series i with last time's series i finds most answers without
// hashing or a map lookup.
type lastScrape struct {
	in  []labels.Labels
	res []result
	// identTL are the target labels ident was derived from (identity.go);
	// identOK is false until an answer worth remembering is there.
	identTL labels.Labels
	ident   identAnswer
	identOK bool
}

// maxTargets bounds the lastScrape entries kept (one per scraped target).
const maxTargets = 4096

// Process runs b through the chain, rewriting b.Series in place: dropped
// series are removed and relabelled series get their new labels. A scrape
// batch's Job, Instance and TargetLabels become what the series-level
// stages made of the target's label set (see identity.go). When a
// fail_closed stage fails or is quarantined it returns an error wrapping
// ErrHeld and leaves b unchanged; a failing fail_open stage is bypassed.
func (c *Chain) Process(ctx context.Context, b *relay.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("plugin chain: %w", relay.ErrClosed)
	}
	sc := &c.scratch
	if c.memoRefs {
		if err := c.seriesLevel(ctx, b, sc); err != nil {
			return err
		}
	}
	for _, s := range c.samples {
		var err error
		if s.stream != nil {
			err = c.streamLevel(ctx, b, sc, s)
		} else {
			err = c.sampleLevel(ctx, b, sc, s)
		}
		if err != nil {
			return err
		}
	}
	if b.Scrape && c.memoRefs {
		c.moveDerived(b, sc)
	}
	return nil
}

// seriesLevel runs b's series through the series-level stages: each
// answer comes from the target's last scrape, the memo, or the stages.
func (c *Chain) seriesLevel(ctx context.Context, b *relay.Batch, sc *scratch) error {
	last := c.lastScrapeOf(b)
	c.knownAnswers(b, sc, last)
	var id identWork
	if b.Scrape {
		id = c.identityStart(b, last)
	}
	c.m.hits.Add(float64(len(b.Series) - len(sc.miss)))
	if len(sc.miss) > 0 || id.need {
		c.m.misses.Add(float64(len(sc.miss)))
		if err := c.resolveMisses(ctx, b, sc, &id); err != nil {
			return err
		}
	}
	c.applyAnswers(b, sc, last)
	if b.Scrape {
		identityFinish(b, last, &id)
	}
	c.accountStages(sc)
	return nil
}

// lastScrapeOf returns what the previous scrape of b's target looked like,
// a fresh entry for a target not seen before, or nil when b is not a scrape.
func (c *Chain) lastScrapeOf(b *relay.Batch) *lastScrape {
	if !b.Scrape || (b.Job == "" && b.Instance == "") {
		return nil
	}
	key := targetKey{b.Job, b.Instance}
	last := c.targets[key]
	if last == nil {
		if len(c.targets) >= maxTargets {
			clear(c.targets)
		}
		last = &lastScrape{}
		c.targets[key] = last
	}
	return last
}

// knownAnswers fills sc.res with the answers the last scrape of the target
// or the memo already hold, and lists the other series in sc.miss.
func (c *Chain) knownAnswers(b *relay.Batch, sc *scratch, last *lastScrape) {
	n := len(b.Series)
	if cap(sc.res) < n {
		sc.res = make([]result, n)
	}
	sc.res = sc.res[:n]
	sc.miss = sc.miss[:0]
	for i := range b.Series {
		ls := b.Series[i].Labels
		if last != nil && i < len(last.in) && labels.Equal(last.in[i], ls) {
			sc.res[i] = last.res[i]
			continue
		}
		if e := c.memo.get(ls.Hash(), ls); e != nil {
			sc.res[i] = result{out: e.out, stage: e.stage, ref: e.ref}
			continue
		}
		sc.miss = append(sc.miss, i)
	}
}

// applyAnswers removes the dropped series from b and relabels the others,
// remembers the answers as the target's last scrape, and counts in
// sc.exitSeries and sc.exitSmpl where each series left the chain.
func (c *Chain) applyAnswers(b *relay.Batch, sc *scratch, last *lastScrape) {
	ns := len(c.series)
	sc.exitSeries = resize(sc.exitSeries, ns+1)
	sc.exitSmpl = resize(sc.exitSmpl, ns+1)
	if last != nil {
		last.in, last.res = last.in[:0], last.res[:0]
	}
	k := 0
	for i := range b.Series {
		r := &sc.res[i]
		if last != nil {
			in := b.Series[i].Labels
			if r.transient {
				in = labels.EmptyLabels() // never matches: asked again next time
			}
			last.in = append(last.in, in)
			last.res = append(last.res, *r)
		}
		exit := int(r.stage)
		if exit < 0 {
			exit = ns
		}
		sc.exitSeries[exit]++
		sc.exitSmpl[exit] += int64(len(b.Series[i].Samples) + len(b.Series[i].Histograms))
		if r.stage >= 0 {
			continue
		}
		b.Series[k] = b.Series[i]
		b.Series[k].Labels = r.out
		sc.res[k].ref = r.ref
		k++
	}
	clear(b.Series[k:])
	b.Series = b.Series[:k]
}

// accountStages adds to each series-level stage's counters the series and
// samples that reached it and those it passed on, from where applyAnswers
// found each series left the chain.
func (c *Chain) accountStages(sc *scratch) {
	ns := len(c.series)
	var inSeries, inSmpl int64
	for j := ns; j >= 0; j-- {
		inSeries += sc.exitSeries[j]
		inSmpl += sc.exitSmpl[j]
		if j == ns {
			continue
		}
		m := c.series[j].m
		m.seriesIn.Add(float64(inSeries))
		m.seriesOut.Add(float64(inSeries - sc.exitSeries[j]))
		m.samplesIn.Add(float64(inSmpl))
		m.samplesOut.Add(float64(inSmpl - sc.exitSmpl[j]))
	}
}

func resize(s []int64, n int) []int64 {
	if cap(s) < n {
		s = make([]int64, n)
	}
	s = s[:n]
	clear(s)
	return s
}
