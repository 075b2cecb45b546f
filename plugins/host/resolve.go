package host

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

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
		if skip, err := s.skipQuarantined(); skip {
			if err != nil {
				return err
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
