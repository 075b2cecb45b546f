package lanes

import (
	"context"
	"fmt"

	"github.com/edgerelay/edgerelay/store"
)

// Sender hands one connection the blocks to send, oldest first within each
// lane: the backlog lane and the live lane side by side while the queue is
// split and the cloud takes lanes, the backlog getting ReplayShare of the
// bytes while both have blocks; otherwise the queue in sequence order.
type Sender struct {
	l          *Lanes
	lanes      bool // blocks go with their lane, interleaved
	awaitSplit bool // a split was asked for and may land meanwhile
	split      store.Split
	cur        *cursor // the oldest lane (the only one unless split)
	live       *cursor // the live lane of a split, nil when not sending two
}

// cursor reads one lane of the queue, oldest first.
type cursor struct {
	after    uint64 // Seq of the last block read
	before   uint64 // the lane ends before this Seq; 0: it does not end
	buf      []store.Block
	lastSent uint64
	sent     int64 // payload bytes handed out on this connection
	done     bool  // bounded, and nothing is left before the bound
}

// Lanes reports whether blocks go with their lane (store.Block.Lane) on
// this connection; otherwise they all go as lane 0.
func (s *Sender) Lanes() bool { return s.lanes }

// Close ends the connection's sending: blocks handed out and not
// acknowledged are no longer in flight.
func (s *Sender) Close() {
	s.l.two.Store(false)
	if s.l.cfg.Report != nil {
		s.l.cfg.Report(0) // not connected
	}
	s.l.q.Release()
}

// polled is a context that is already done: Wait with it only checks.
var polled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// Next returns the next block to send, waiting for one to be appended
// when none is left. It fails with ctx's error when ctx ends, and with the
// queue's error when reading fails.
func (s *Sender) Next(ctx context.Context) (store.Block, error) {
	l := s.l
	for {
		if s.awaitSplit && s.live == nil {
			if st := l.sq.Stats(); st.Split != s.split && st.Backlog {
				s.splitLanded(st.Split)
			}
		}
		if err := s.fill(s.cur); err != nil {
			return store.Block{}, err
		}
		if s.live != nil && s.cur.done {
			s.cur, s.live = s.live, nil // the backlog is sent
			l.setTwo(false)
			continue
		}
		if s.live != nil && len(s.live.buf) == 0 && l.q.Wait(polled, s.live.after) == nil {
			if err := s.fill(s.live); err != nil {
				return store.Block{}, err
			}
		}
		c := s.pick()
		if len(c.buf) == 0 {
			w := s.cur.after
			if s.live != nil {
				w = s.live.after
			}
			if err := l.q.Wait(ctx, w); err != nil {
				if ctx.Err() != nil {
					return store.Block{}, ctx.Err()
				}
				return store.Block{}, fmt.Errorf("wait after %d: %w", w, err)
			}
			continue
		}
		b := c.buf[0]
		c.buf = c.buf[1:]
		c.lastSent = b.Seq
		c.sent += int64(len(b.Data))
		return b, nil
	}
}

// splitLanded turns the cursor into the backlog lane, bounded at sp, and
// starts the live lane: what the cursor has not handed out from sp on is
// the live lane's.
func (s *Sender) splitLanded(sp store.Split) {
	s.awaitSplit = false
	s.split = sp
	s.cur.before = sp.Seq
	i := 0
	for i < len(s.cur.buf) && s.cur.buf[i].Seq < sp.Seq {
		i++
	}
	s.cur.buf = s.cur.buf[:i]
	s.live = &cursor{after: max(sp.Seq-1, s.cur.lastSent)}
	s.l.setTwo(true)
}

// pick chooses the lane whose block goes next: the backlog while its
// share of the bytes handed out is below ReplayShare, or when the live
// lane has nothing.
func (s *Sender) pick() *cursor {
	cur, live := s.cur, s.live
	switch {
	case live == nil || len(live.buf) == 0:
		return cur
	case len(cur.buf) == 0:
		return live
	case float64(cur.sent)*(1-s.l.cfg.ReplayShare) > float64(live.sent)*s.l.cfg.ReplayShare:
		return live
	}
	return cur
}

// fill reads the next blocks of c when it has none buffered.
func (s *Sender) fill(c *cursor) error {
	if len(c.buf) > 0 || c.done {
		return nil
	}
	l := s.l
	bs, err := l.q.Read(c.after, l.cfg.Window, l.cfg.MaxBatchBytes)
	if err != nil {
		return fmt.Errorf("read after %d: %w", c.after, err)
	}
	if c.before != 0 {
		n := 0
		for n < len(bs) && bs[n].Seq < c.before {
			n++
		}
		bs = bs[:n]
		c.done = n == 0
	}
	for _, b := range bs {
		// In flight from now on: the cap may delete a block waiting here,
		// and it was lost only if it is never acknowledged.
		l.q.Sending(b.Seq)
	}
	if len(bs) > 0 {
		c.after = bs[len(bs)-1].Seq
	}
	c.buf = bs
	return nil
}
