package forward

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/relay/lanes"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// entry is a block handed to the uplink and not yet acknowledged in the
// queue. A skipped entry was too large for the cloud and is dropped: it is
// acknowledged in the queue once every block before it is.
type entry struct {
	seq     uint64
	lane    uint8
	samples int
	skip    bool
	sent    time.Time
	group   uint64 // the block's delta generation (0: none)
	wire    uint8  // the lane it was sent in
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

	kick    chan struct{} // a skipped entry may now be at the head
	stalled bool          // OnStall was called for the oldest entry (stall.go)
}

// session ships the blocks snd hands out over conn until it fails or ctx
// ends. progressed is true when at least one block was acknowledged.
func (f *Forwarder) session(ctx context.Context, conn uplink, snd *lanes.Sender) (progressed bool, err error) {
	s := &session{f: f, conn: conn, kick: make(chan struct{}, 1)}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.send(sctx, snd); err != nil {
			s.fail(err)
			cancel()
		}
	}()
	// On return: close the connection (unblocks a Send stuck on the
	// window), stop the sender (unblocks a queue Wait), wait for it.
	defer wg.Wait()
	defer cancel()
	defer conn.Close()
	tick := time.NewTicker(stallCheck)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.checkStall()
		case a, ok := <-conn.Acks():
			if !ok {
				s.fail(conn.Err())
				return progressed, s.result()
			}
			acked, ok := s.take(s.waiting(a)...)
			progressed = progressed || acked
			if !ok {
				return progressed, s.result()
			}
		case <-s.kick:
			if err := s.ack(); err != nil {
				s.fail(err)
				return progressed, s.result()
			}
		case <-sctx.Done():
			// The sender stopped (or Run's ctx ended). Answers the cloud
			// already sent still count: close, then take what is left.
			conn.Close()
			for a := range conn.Acks() {
				acked, ok := s.take(a)
				progressed = progressed || acked
				if !ok {
					break
				}
			}
			return progressed, s.result()
		}
	}
}

// waiting returns a and the answers that arrived with it, already
// waiting: the cloud answers blocks it made durable together at once, and
// the queue acknowledges them in one write.
func (s *session) waiting(a transport.Ack) []transport.Ack {
	as := []transport.Ack{a}
	for len(as) < maxAcksAtOnce && a.Err == nil {
		select {
		case next, ok := <-s.conn.Acks():
			if !ok {
				return as // the closed channel is seen again by the caller
			}
			a = next
			as = append(as, a)
		default:
			return as
		}
	}
	return as
}

// maxAcksAtOnce bounds the answers acknowledged in the queue at once.
const maxAcksAtOnce = 256

// take handles answers in order and reports whether it acknowledged a
// block in the queue; !ok ends the session. The blocks answered before a
// NACK are acknowledged first.
func (s *session) take(as ...transport.Ack) (acked, ok bool) {
	seqs := make([]uint64, 0, len(as))
	for _, a := range as {
		if a.Err != nil {
			if len(seqs) > 0 {
				if err := s.ack(seqs...); err != nil {
					s.fail(err)
					return false, false
				}
			}
			var nack *transport.NackError
			if errors.As(a.Err, &nack) && nack.NeedBase {
				s.needBase(a.Seq)
			}
			s.fail(a.Err)
			return len(seqs) > 0, false
		}
		if a.Resync && s.f.cfg.OnResync != nil {
			s.f.cfg.OnResync()
		}
		if a.Refused > 0 && s.f.cfg.OnRefused != nil {
			s.f.cfg.OnRefused(a.Refused)
		}
		seqs = append(seqs, a.Seq)
	}
	if err := s.ack(seqs...); err != nil {
		s.fail(err)
		return false, false
	}
	return true, true
}

// send hands the blocks snd gives out to the uplink: with their lane
// while the cloud takes lanes (snd.Lanes), otherwise all as lane 0 in
// sequence order.
func (s *session) send(ctx context.Context, snd *lanes.Sender) error {
	f := s.f
	for {
		b, err := snd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return &queueError{err}
		}
		if f.limit != nil {
			if err := f.limit.WaitN(ctx, min(len(b.Data), f.limit.Burst())); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		e := entry{seq: b.Seq, lane: b.Lane, samples: b.Samples, sent: time.Now(), group: b.Group}
		if snd.Lanes() {
			e.wire = b.Lane
		}
		s.push(e)
		before := s.conn.SentBytes()
		if snd.Lanes() {
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

// ack retires the pending entries of blocks seqs, answered in order
// (none: only what a skipped entry unblocked), and any skipped entries
// then at the head, and acknowledges them in the queue, each lane on its
// own (lanes.Ack).
func (s *session) ack(seqs ...uint64) error {
	f := s.f
	var through [2]uint64
	var blocks, samples, skipped int
	s.mu.Lock()
	for len(s.pending) > 0 {
		e := s.pending[0]
		if !e.skip {
			if blocks == len(seqs) {
				break
			}
			if e.seq != seqs[blocks] {
				s.mu.Unlock()
				return fmt.Errorf("BUG: answer for block %d, oldest unanswered is %d", seqs[blocks], e.seq)
			}
			blocks++
			samples += e.samples
		} else {
			skipped++
		}
		s.pending = s.pending[1:]
		through[e.lane] = e.seq
		s.stalled = false
	}
	s.mu.Unlock()
	if err := f.lanes.Ack(through); err != nil {
		return &queueError{err}
	}
	f.m.sentBlocks.Add(float64(blocks))
	f.m.lastAck.SetToCurrentTime()
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
