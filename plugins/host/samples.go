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
	if s.quarantined {
		s.m.errors.WithLabelValues(s.name, "quarantined").Inc()
		if s.failClosed {
			return fmt.Errorf("plugin %s is quarantined: %w", s.name, ErrHeld)
		}
		return nil
	}
	if len(c.series) == 0 { // no memo ids yet: number series per batch
		sc.res = sc.res[:0]
		for range b.Series {
			c.memo.nextRef++
			sc.res = append(sc.res, result{ref: c.memo.nextRef})
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
	if err != nil {
		err = c.fail(ctx, s, err)
		if s.failClosed {
			return fmt.Errorf("%w: %w", ErrHeld, err)
		}
		s.m.samplesIn.Add(float64(in))
		s.m.samplesOut.Add(float64(in))
		return nil
	}
	c.succeeded(s)
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
	s.m.samplesIn.Add(float64(in))
	s.m.samplesOut.Add(float64(sc.smpl.Len()))
	return nil
}

// checkSamples decodes a guest's samples into sc.smpl and checks every ref
// is one of the batch's and no series gained samples.
func (c *Chain) checkSamples(sc *scratch) error {
	if err := sc.rd.Samples(&sc.smpl); err != nil {
		return &callError{kind: "output", err: err}
	}
	if sc.rd.Remaining() != 0 {
		return &callError{kind: "output", err: fmt.Errorf("%d bytes after the samples", sc.rd.Remaining())}
	}
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

// had returns how many float samples series i held before the stage.
func (sc *scratch) had(i int) int32 { return sc.in[i] }
