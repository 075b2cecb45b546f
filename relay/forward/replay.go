package forward

import (
	"context"
	"errors"

	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

// Resending delta bases (uplink protocol version 6,
// relay/transport/replay.go). A cloud that took the site over from a
// cloud that died lacks the delta bases of the generation the edge is in:
// it NACKs the first block needing one with the need-base flag. The
// forwarder then connects again at once and, before any block, sends the
// acknowledged blocks of that block's generation its queue kept
// (store.Options.RetainBytes) as BASE frames, and says it is done
// (REPLAYED); the cloud rebuilds its bases from them, writing nothing, and
// the NACKed block then decodes. A queue that keeps nothing (edge.upstreams'
// views) sends no BASE frame, only REPLAYED: the cloud then loses the
// frames without a base, as before version 6, and asks for a new
// generation.

// Retainer is what a Queue also offers when it keeps the acknowledged
// blocks of its newest acknowledged delta generation (*store.Queue with
// RetainBytes).
type Retainer interface {
	ReadRetained(after uint64, maxBlocks int, maxBytes int) ([]store.Block, error)
}

// replayNeed names the blocks a cloud asked for: the acknowledged blocks
// of group (a delta generation) sent in lane.
type replayNeed struct {
	lane  uint8
	group uint64
}

// maxReplays bounds the need-base NACKs followed at once, in a row,
// without a block acknowledged; then the usual backoff applies.
const maxReplays = 3

// needBase records that the cloud asked for the bases of block seq, the
// oldest unanswered one.
func (s *session) needBase(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 && s.pending[0].seq == seq {
		e := s.pending[0]
		s.f.replay = &replayNeed{lane: e.wire, group: e.group}
	}
}

// replayNext reports whether the next connection should follow at once,
// to resend the bases a cloud asked for.
func (f *Forwarder) replayNext(err error, progressed bool) bool {
	if progressed {
		f.replays = 0
	}
	var nack *transport.NackError
	if f.replay == nil || !errors.As(err, &nack) || !nack.NeedBase || f.replays >= maxReplays {
		return false
	}
	f.replays++
	f.log.Info("uplink: the cloud lacks the delta bases of a generation (it took this site over); resending its acknowledged blocks first",
		"seq", nack.Seq, "generation", f.replay.group, "lane", f.replay.lane)
	return true
}

// sendBases sends, when a cloud asked for them and conn takes them, the
// acknowledged blocks of the generation asked for, then REPLAYED, and
// waits for their answers.
func (f *Forwarder) sendBases(ctx context.Context, conn uplink) error {
	rn := f.replay
	if rn == nil || !conn.CanReplay() {
		return nil
	}
	before := conn.SentBytes()
	defer func() { f.m.sentBytes.Add(float64(conn.SentBytes() - before)) }()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := f.pushBases(ctx, conn, *rn)
		if err == nil {
			err = conn.Replayed(rn.lane)
		}
		done <- result{n, err}
	}()
	answered, total := 0, -1
	for total < 0 || answered < total {
		select {
		case a, ok := <-conn.Acks():
			if !ok {
				return conn.Err()
			}
			if a.Err != nil {
				return a.Err
			}
			if a.Resync && f.cfg.OnResync != nil {
				f.cfg.OnResync()
			}
			answered++
		case r := <-done:
			if r.err != nil {
				return r.err
			}
			total = r.n
		}
	}
	f.m.replayed.Add(float64(answered))
	f.replay = nil
	f.log.Info("uplink: resent the acknowledged blocks of a generation for the cloud's delta bases", "blocks", answered,
		"generation", rn.group, "lane", rn.lane)
	return nil
}

// pushBases sends the kept blocks of rn's generation as BASE frames and
// returns how many it sent.
func (f *Forwarder) pushBases(ctx context.Context, conn uplink, rn replayNeed) (int, error) {
	rq, ok := f.q.(Retainer)
	if !ok {
		return 0, nil
	}
	n := 0
	var after uint64
	for {
		bs, err := rq.ReadRetained(after, f.cfg.Client.Window, f.cfg.MaxBatchBytes)
		if err != nil {
			return n, &queueError{err}
		}
		if len(bs) == 0 {
			return n, nil
		}
		for _, b := range bs {
			after = b.Seq
			if b.Group != rn.group {
				continue
			}
			if f.limit != nil {
				if err := f.limit.WaitN(ctx, min(len(b.Data), f.limit.Burst())); err != nil {
					return n, err
				}
			}
			err := conn.SendBase(ctx, b.Seq, rn.lane, b.Data)
			if errors.Is(err, transport.ErrBlockTooLarge) {
				continue // its frames stay missing: the cloud loses what needs them
			}
			if err != nil {
				return n, err
			}
			n++
		}
	}
}
