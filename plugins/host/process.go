package host

import (
	"context"
	"fmt"
	"time"

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
	if len(c.series) > 0 {
		if err := c.seriesLevel(ctx, b, sc); err != nil {
			return err
		}
	}
	for _, s := range c.samples {
		if err := c.sampleLevel(ctx, b, sc, s); err != nil {
			return err
		}
	}
	return nil
}

func (c *Chain) seriesLevel(ctx context.Context, b *relay.Batch, sc *scratch) error {
	n := len(b.Series)
	if cap(sc.res) < n {
		sc.res = make([]result, n)
	}
	sc.res = sc.res[:n]
	sc.miss = sc.miss[:0]
	var last *lastScrape
	if b.Scrape && (b.Job != "" || b.Instance != "") {
		key := targetKey{b.Job, b.Instance}
		if last = c.targets[key]; last == nil {
			if len(c.targets) >= maxTargets {
				clear(c.targets)
			}
			last = &lastScrape{}
			c.targets[key] = last
		}
	}
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
	var id identWork
	if b.Scrape {
		id = c.identityStart(b, last)
	}
	c.m.hits.Add(float64(n - len(sc.miss)))
	if len(sc.miss) > 0 || id.need {
		c.m.misses.Add(float64(len(sc.miss)))
		if err := c.resolveMisses(ctx, b, sc, &id); err != nil {
			return err
		}
	}
	// Account per stage by where each series left the chain, then compact.
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
	if b.Scrape {
		identityFinish(b, last, &id)
	}
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
	return nil
}

func resize(s []int64, n int) []int64 {
	if cap(s) < n {
		s = make([]int64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// resolveMisses runs the label sets the memo lacks through the series-level
// stages and remembers the answers unless a stage was bypassed on failure;
// the batch's identity goes with them when id.need.
func (c *Chain) resolveMisses(ctx context.Context, b *relay.Batch, sc *scratch, id *identWork) error {
	sc.missIn = sc.missIn[:0]
	for _, i := range sc.miss {
		sc.missIn = append(sc.missIn, b.Series[i].Labels)
	}
	if id.need {
		sc.missIn = append(sc.missIn, id.in)
	}
	if err := c.resolve(ctx, sc); err != nil {
		return err
	}
	for j, i := range sc.miss {
		sc.res[i] = sc.missOut[j]
	}
	if id.need {
		id.r = sc.missOut[len(sc.miss)]
	}
	return nil
}

// resolve runs the label sets sc.missIn through the series-level stages and
// puts each answer in sc.missOut, remembering them unless a stage was
// bypassed on failure.
func (c *Chain) resolve(ctx context.Context, sc *scratch) error {
	sc.cur, sc.drop = sc.cur[:0], sc.drop[:0]
	sc.alive = sc.alive[:0]
	for j, in := range sc.missIn {
		sc.cur = append(sc.cur, in)
		sc.drop = append(sc.drop, -1)
		sc.alive = append(sc.alive, j)
	}
	remember := true
	for si, s := range c.series {
		if len(sc.alive) == 0 {
			break
		}
		if s.quarantined {
			s.m.errors.WithLabelValues(s.name, "quarantined").Inc()
			if s.failClosed {
				return fmt.Errorf("plugin %s is quarantined: %w", s.name, ErrHeld)
			}
			continue
		}
		for start := 0; start < len(sc.alive); {
			end, err := c.callSeries(ctx, s, sc, start)
			if err != nil {
				err = c.fail(ctx, s, err)
				if s.failClosed {
					return fmt.Errorf("%w: %w", ErrHeld, err)
				}
				remember = false // bypassed: do not remember a partial answer
			} else {
				c.succeeded(s)
				for k := start; k < end; k++ {
					j := sc.alive[k]
					switch sc.tmpOp[k-start] {
					case abi.OpDrop:
						sc.drop[j] = int32(si)
					case abi.OpReplace:
						sc.cur[j] = sc.tmp[k-start]
					}
				}
			}
			start = end
		}
		live := sc.alive[:0]
		for _, j := range sc.alive {
			if sc.drop[j] < 0 {
				live = append(live, j)
			}
		}
		sc.alive = live
	}
	sc.missOut = sc.missOut[:0]
	for j, in := range sc.missIn {
		r := result{out: sc.cur[j], stage: sc.drop[j]}
		if remember {
			e, evicted := c.memo.put(in.Hash(), in, r.out, r.stage)
			if evicted {
				c.m.evictions.Inc()
			}
			r.ref = e.ref
		} else {
			c.memo.nextRef++
			r.ref = c.memo.nextRef
			r.transient = true
		}
		sc.missOut = append(sc.missOut, r)
	}
	return nil
}

// callSeries sends alive[start:end] (as many as fit one request) to s and
// decodes the answer into sc.tmpOp/sc.tmp. It returns end.
func (c *Chain) callSeries(ctx context.Context, s *stage, sc *scratch, start int) (int, error) {
	sc.req = append(sc.req[:0], 0, 0, 0, 0)
	end := start
	for end < len(sc.alive) && end-start < maxSeriesPerCall && (end == start || len(sc.req) < maxRequestBytes) {
		sc.req = appendLabels(sc.req, sc.cur[sc.alive[end]])
		end++
	}
	putU32(sc.req, uint32(end-start))
	t0 := time.Now()
	out, err := s.call(ctx, s.fSeries, sc.req)
	s.m.seconds.Add(time.Since(t0).Seconds())
	s.m.calls.Inc()
	if err != nil {
		return end, err
	}
	sc.tmp, sc.tmpOp = sc.tmp[:0], sc.tmpOp[:0]
	sc.rd.Reset(out)
	if err := decodeSeriesResponse(&sc.rd, end-start, &sc.sb, func(op byte, ls labels.Labels) {
		sc.tmpOp = append(sc.tmpOp, op)
		sc.tmp = append(sc.tmp, ls)
	}); err != nil {
		return end, &callError{kind: "output", err: err}
	}
	return end, nil
}
