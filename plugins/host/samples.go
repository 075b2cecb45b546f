package host

import (
	"context"
	"fmt"
	"time"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// sampleLevel hands the batch's float samples to s as columns (ref, t,
// value bits) and writes back what it returns. A ref is the memo's id for
// the series' label set (stable while the set stays cached); the guest may
// drop or change samples but not invent refs or add samples to a series.
// Native histogram samples and exemplars are not in the columns and pass
// the stage unchanged: a series leaves the batch only when the stage
// dropped every float sample of a series that had some and it holds no
// histogram sample (its exemplars, which belong to those samples, go too).
func (c *Chain) sampleLevel(ctx context.Context, b *relay.Batch, sc *scratch, s *stage) error {
	if skip, err := s.skipQuarantined(); skip {
		return err
	}
	c.columns(b, sc)
	in := sc.smpl.Len()
	sc.req = abi.AppendSamples(sc.req[:0], &sc.smpl)
	t0 := time.Now()
	out, err := s.call(ctx, s.fSmpl, sc.req)
	s.m.seconds.Add(time.Since(t0).Seconds())
	s.m.calls.Inc()
	if err == nil {
		sc.rd.Reset(out)
		err = c.checkSamples(sc)
	}
	if err == nil {
		err = c.checkRefs(sc)
	}
	if err != nil {
		return c.failSamples(ctx, s, err, in)
	}
	c.succeeded(s)
	c.writeBack(b, sc)
	s.m.samplesIn.Add(float64(in))
	s.m.samplesOut.Add(float64(sc.smpl.Len()))
	return nil
}

// failSamples applies a failed sample-level or stream call of s on a
// batch of in samples: counted and logged, then held (fail_closed) or
// passed on unchanged (fail_open).
func (c *Chain) failSamples(ctx context.Context, s *stage, err error, in int) error {
	err = c.fail(ctx, s, err)
	if s.failClosed {
		return fmt.Errorf("%w: %w", ErrHeld, err)
	}
	s.m.samplesIn.Add(float64(in))
	s.m.samplesOut.Add(float64(in))
	return nil
}

// checkSamples decodes a guest's samples into sc.smpl.
func (c *Chain) checkSamples(sc *scratch) error {
	if err := sc.rd.Samples(&sc.smpl); err != nil {
		return &callError{kind: "output", err: err}
	}
	if sc.rd.Remaining() != 0 {
		return &callError{kind: "output", err: fmt.Errorf("%d bytes after the samples", sc.rd.Remaining())}
	}
	return nil
}

// checkRefs checks every ref of the kept samples is one of the batch's and
// no series gained samples.
func (c *Chain) checkRefs(sc *scratch) error {
	for _, ref := range sc.smpl.Refs {
		i, ok := sc.refIdx[ref]
		if !ok {
			return &callError{kind: "output", err: fmt.Errorf("sample for unknown ref %d", ref)}
		}
		if sc.count[i]--; sc.count[i] < 0 {
			return &callError{kind: "output", err: fmt.Errorf("more samples for ref %d than it had", ref)}
		}
	}
	return nil
}

// columns lays b's float samples out as columns in sc.smpl, with the
// per-series counts checkRefs and writeBack use. Without series-level
// stages (no memo ids) each series is numbered afresh.
func (c *Chain) columns(b *relay.Batch, sc *scratch) {
	if !c.memoRefs {
		sc.res = sc.res[:0]
		for range b.Series {
			c.memo.nextRef++
			sc.res = append(sc.res, result{ref: c.memo.nextRef, stage: -1})
		}
	}
	if sc.refIdx == nil {
		sc.refIdx = make(map[uint32]int32)
	}
	clear(sc.refIdx)
	sc.smpl.Reset()
	sc.count, sc.in, sc.keep = sc.count[:0], sc.in[:0], sc.keep[:0]
	for i := range b.Series {
		ref := sc.res[i].ref
		sc.refIdx[ref] = int32(i)
		sc.count = append(sc.count, int32(len(b.Series[i].Samples)))
		sc.in = append(sc.in, int32(len(b.Series[i].Samples)))
		for _, p := range b.Series[i].Samples {
			sc.smpl.Append(ref, p.T, p.V)
		}
	}
}

// writeBack replaces b's float samples with the kept ones in sc.smpl and
// removes the series left with nothing (see sampleLevel).
func (c *Chain) writeBack(b *relay.Batch, sc *scratch) {
	for i := range b.Series {
		sr := &b.Series[i]
		sr.Samples = sr.Samples[:0]
		if len(sr.Histograms) > 0 || (sc.had(i) == 0 && len(sr.Exemplars) > 0) {
			sc.keep = append(sc.keep, int32(i))
		}
	}
	for k, ref := range sc.smpl.Refs {
		i := sc.refIdx[ref]
		b.Series[i].Samples = append(b.Series[i].Samples, relay.Sample{T: sc.smpl.T[k], V: sc.smpl.V[k]})
	}
	k, ki := 0, 0
	for i := range b.Series {
		kept := ki < len(sc.keep) && sc.keep[ki] == int32(i)
		if kept {
			ki++
		}
		if len(b.Series[i].Samples) == 0 && !kept {
			continue
		}
		b.Series[k] = b.Series[i]
		sc.res[k] = sc.res[i]
		k++
	}
	clear(b.Series[k:])
	b.Series = b.Series[:k]
	sc.res = sc.res[:k]
}

// had returns how many float samples series i held before the stage.
func (sc *scratch) had(i int) int32 { return sc.in[i] }
