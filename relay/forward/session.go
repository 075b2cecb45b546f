package forward

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

// entry is a block handed to the uplink and not yet acknowledged in the
// queue. A skipped entry was too large for the cloud and is dropped: it is
// acknowledged in the queue once every block before it is.
type entry struct {
	seq     uint64
	lane    uint8
	samples int
	skip    bool
}

// session is one connection's worth of shipping: a sender goroutine reads
// the queue and sends, the caller's goroutine takes acks and acknowledges
// the queue. Both stop when the connection ends.
type session struct {
	f    *Forwarder
	conn uplink

	mu      sync.Mutex
	pending []entry
	err     error

	kick chan struct{} // a skipped entry may now be at the head
}

// session ships blocks after f.acked over conn until it fails or ctx ends;
// awaitSplit says a split of the queue was asked for on this connection.
// progressed is true when at least one block was acknowledged.
func (f *Forwarder) session(ctx context.Context, conn uplink, awaitSplit bool) (progressed bool, err error) {
	s := &session{f: f, conn: conn, kick: make(chan struct{}, 1)}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	from := f.acked
	go func() {
		defer wg.Done()
		if err := s.send(sctx, from, awaitSplit); err != nil {
			s.fail(err)
			cancel()
		}
	}()
	// On return: close the connection (unblocks a Send stuck on the
	// window), stop the sender (unblocks a queue Wait), wait for it.
	defer wg.Wait()
	defer cancel()
	defer conn.Close()
	for {
		select {
		case a, ok := <-conn.Acks():
			if !ok {
				s.fail(conn.Err())
				return progressed, s.result()
			}
			if !s.take(a) {
				return progressed, s.result()
			}
			progressed = true
		case <-s.kick:
			if err := s.ack(0); err != nil {
				s.fail(err)
				return progressed, s.result()
			}
		case <-sctx.Done():
			// The sender stopped (or Run's ctx ended). Answers the cloud
			// already sent still count: close, then take what is left.
			conn.Close()
			for a := range conn.Acks() {
				if !s.take(a) {
					break
				}
				progressed = true
			}
			return progressed, s.result()
		}
	}
}

// take handles one answer; false ends the session.
func (s *session) take(a transport.Ack) bool {
	if a.Err != nil {
		s.fail(a.Err)
		return false
	}
	if a.Resync && s.f.cfg.OnResync != nil {
		s.f.cfg.OnResync()
	}
	if a.Refused > 0 && s.f.cfg.OnRefused != nil {
		s.f.cfg.OnRefused(a.Refused)
	}
	if err := s.ack(a.Seq); err != nil {
		s.fail(err)
		return false
	}
	return true
}

// cursor reads one lane of the queue, oldest first.
type cursor struct {
	after    uint64 // Seq of the last block read
	before   uint64 // the lane ends before this Seq; 0: it does not end
	buf      []store.Block
	lastSent uint64
	sent     int64 // payload bytes sent on this connection
	done     bool  // bounded, and nothing is left before the bound
}

// fill reads the next blocks of c when it has none buffered.
func (s *session) fill(c *cursor) error {
	if len(c.buf) > 0 || c.done {
		return nil
	}
	f := s.f
	bs, err := f.q.Read(c.after, f.cfg.Client.Window, f.cfg.MaxBatchBytes)
	if err != nil {
		return &queueError{fmt.Errorf("read after %d: %w", c.after, err)}
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
		f.q.Sending(b.Seq)
	}
	if len(bs) > 0 {
		c.after = bs[len(bs)-1].Seq
	}
	c.buf = bs
	return nil
}

// polled is a context that is already done: Wait with it only checks.
var polled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// send reads blocks after `after` and hands them to the uplink, oldest
// first. While the queue is split (see store.Split) and the cloud takes
// lanes, it sends the backlog lane and the live lane side by side, the
// backlog getting ReplayShare of the bytes while both have blocks;
// awaitSplit says a split was asked for and may land meanwhile.
func (s *session) send(ctx context.Context, after uint64, awaitSplit bool) error {
	f := s.f
	lanes := f.interlace && s.conn.Lanes()
	cur := &cursor{after: after} // the oldest lane (the only one unless split)
	var live *cursor
	var split store.Split
	if lanes {
		split = f.lq.Split()
		if f.lq.Backlog() {
			cur.before = split.Seq
			live = &cursor{after: max(split.Seq-1, f.liveAcked)}
		}
	}
	f.setLanes(live != nil)
	defer func() {
		f.twoLanes.Store(false)
		f.m.lanes.Set(0) // not connected
	}()
	for {
		if lanes && awaitSplit && live == nil {
			if sp := f.lq.Split(); sp != split && f.lq.Backlog() {
				// The split landed: what cur has not sent from it on is the
				// live lane's.
				awaitSplit = false
				split = sp
				cur.before = sp.Seq
				i := 0
				for i < len(cur.buf) && cur.buf[i].Seq < sp.Seq {
					i++
				}
				cur.buf = cur.buf[:i]
				live = &cursor{after: max(sp.Seq-1, cur.lastSent)}
				f.setLanes(true)
			}
		}
		if err := s.fill(cur); err != nil {
			return err
		}
		if live != nil && cur.done {
			cur, live = live, nil // the backlog is sent
			f.setLanes(false)
			continue
		}
		if live != nil && len(live.buf) == 0 && f.q.Wait(polled, live.after) == nil {
			if err := s.fill(live); err != nil {
				return err
			}
		}
		c := cur
		switch {
		case live == nil || len(live.buf) == 0:
		case len(cur.buf) == 0:
			c = live
		case float64(cur.sent)*(1-f.cfg.ReplayShare) > float64(live.sent)*f.cfg.ReplayShare:
			c = live
		}
		if len(c.buf) == 0 {
			w := cur.after
			if live != nil {
				w = live.after
			}
			if err := f.q.Wait(ctx, w); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return &queueError{fmt.Errorf("wait after %d: %w", w, err)}
			}
			continue
		}
		b := c.buf[0]
		c.buf = c.buf[1:]
		c.lastSent = b.Seq
		c.sent += int64(len(b.Data))
		if f.limit != nil {
			if err := f.limit.WaitN(ctx, min(len(b.Data), f.limit.Burst())); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		s.push(entry{seq: b.Seq, lane: b.Lane, samples: b.Samples})
		before := s.conn.SentBytes()
		var err error
		if lanes {
			err = s.conn.SendLane(ctx, b.Seq, b.Lane, b.Data)
		} else {
			err = s.conn.Send(ctx, b.Seq, b.Data)
		}
		f.m.sentBytes.Add(float64(s.conn.SentBytes() - before))
		if errors.Is(err, transport.ErrBlockTooLarge) {
			// Counted when the queue drops it, in ack.
			f.log.Error("block larger than the cloud accepts; dropping it",
				"seq", b.Seq, "bytes", len(b.Data), "samples", b.Samples, "err", err)
			s.markSkip(b.Seq)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// setLanes records whether a backlog lane goes beside the live lane now,
// for Beside and edgerelay_uplink_lanes.
func (f *Forwarder) setLanes(two bool) {
	f.twoLanes.Store(two)
	if two {
		f.m.lanes.Set(2)
	} else {
		f.m.lanes.Set(1)
	}
}

func (s *session) push(e entry) {
	s.mu.Lock()
	s.pending = append(s.pending, e)
	s.mu.Unlock()
}

func (s *session) markSkip(seq uint64) {
	s.mu.Lock()
	for i := len(s.pending) - 1; i >= 0; i-- {
		if s.pending[i].seq == seq {
			s.pending[i].skip = true
			break
		}
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// ack retires the pending entry of block seq (none when seq is 0) and any
// skipped entries then at the head, and acknowledges them in the queue:
// blocks of the live lane of a split with AckRange, others (the oldest
// lane) with AckThrough.
func (s *session) ack(seq uint64) error {
	f := s.f
	var through [2]uint64
	var blocks, samples, skipped int
	s.mu.Lock()
	want := seq != 0
	for len(s.pending) > 0 {
		e := s.pending[0]
		if !e.skip {
			if !want {
				break
			}
			if e.seq != seq {
				s.mu.Unlock()
				return fmt.Errorf("BUG: answer for block %d, oldest unanswered is %d", seq, e.seq)
			}
			want = false
			blocks++
			samples += e.samples
		} else {
			skipped++
		}
		s.pending = s.pending[1:]
		through[e.lane] = e.seq
	}
	s.mu.Unlock()
	var split store.Split
	if f.lq != nil {
		split = f.lq.Split()
	}
	for lane, t := range through {
		if t == 0 {
			continue
		}
		if split.Seq != 0 && uint8(lane) == split.Lane && t >= split.Seq {
			from := max(split.Seq, f.liveAcked+1)
			if err := f.lq.AckRange(from, t); err != nil {
				return &queueError{fmt.Errorf("ack %d..%d: %w", from, t, err)}
			}
			f.liveAcked = t
			continue
		}
		if err := f.q.AckThrough(t); err != nil {
			return &queueError{fmt.Errorf("ack through %d: %w", t, err)}
		}
		f.acked = max(f.acked, t)
	}
	f.m.sentBlocks.Add(float64(blocks))
	f.m.sentSamples.Add(float64(samples))
	f.m.errors.WithLabelValues("too_large").Add(float64(skipped))
	return nil
}

// fail records why the session ended. The first reason wins, except that a
// NACK explains more than the connection error that follows it.
func (s *session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var nack *transport.NackError
	var qe *queueError
	if s.err == nil || (errors.As(err, &nack) && !errors.As(s.err, &qe)) {
		s.err = err
	}
}

func (s *session) result() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return errors.New("connection ended")
	}
	return s.err
}
