package upstreams

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/store"
)

// View is one upstream's queue: what its forwarder reads, waits on and
// acknowledges (it satisfies forward.Queue). Reads start after the
// upstream's cursor and leave out blocks of a generation dropped for it;
// AckThrough persists the cursor, then lets the Set delete what no
// upstream needs.
type View struct {
	s  *Set
	up Upstream

	mu       sync.Mutex
	cur      store.Cursor
	inflight map[uint64]struct{} // handed to the forwarder, not acknowledged
	lastAck  time.Time
	counted  uint64 // skipped blocks counted through this Seq
}

// Name is the upstream's name.
func (v *View) Name() string { return v.up.Name }

// ID is the queue's identity: every upstream sees the one queue.
func (v *View) ID() uint64 { return v.s.q.ID() }

func (v *View) cursor() store.Cursor {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cur
}

// Acked returns the Seq through which the upstream has the queue.
func (v *View) Acked() uint64 { return v.cursor().Acked }

// LastAck is when the upstream last acknowledged a block (zero: not since
// start).
func (v *View) LastAck() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastAck
}

// Read returns blocks with Seq > after (and past the cursor), leaving out
// those of a skipped generation, which it counts as dropped for the
// upstream.
func (v *View) Read(after uint64, maxBlocks int, maxBytes int) ([]store.Block, error) {
	for {
		c := v.cursor()
		from := max(after, c.Acked)
		bs, err := v.s.q.Read(from, maxBlocks, maxBytes)
		if err != nil || len(bs) == 0 || c.Skip == 0 {
			return bs, err
		}
		out := bs[:0]
		var skipped []store.Block
		for _, b := range bs {
			if b.Group == c.Skip {
				skipped = append(skipped, b)
				continue
			}
			out = append(out, b)
		}
		v.countSkipped(skipped)
		if len(out) > 0 {
			return out, nil
		}
		after = bs[len(bs)-1].Seq // all skipped: read on
	}
}

// countSkipped counts blocks of the skipped generation once each.
func (v *View) countSkipped(bs []store.Block) {
	var blocks, samples int64
	v.mu.Lock()
	for _, b := range bs {
		if b.Seq > v.counted {
			v.counted = b.Seq
			blocks++
			samples += int64(b.Samples)
		}
	}
	v.mu.Unlock()
	v.s.m.dropped(v.up.Name, reasonGeneration, blocks, samples)
}

// AckThrough records that the upstream holds every block through seq:
// the cursor is persisted, then the Set deletes what no upstream needs.
func (v *View) AckThrough(seq uint64) error {
	v.mu.Lock()
	for s := range v.inflight {
		if s <= seq {
			delete(v.inflight, s)
		}
	}
	v.lastAck = time.Now()
	if seq <= v.cur.Acked {
		v.mu.Unlock()
		return nil
	}
	c := v.cur
	c.Acked = seq
	v.mu.Unlock()
	if err := v.s.q.SaveCursor(v.up.Name, c); err != nil {
		return fmt.Errorf("upstream %s: %w", v.up.Name, err)
	}
	v.mu.Lock()
	if c.Acked > v.cur.Acked {
		v.cur.Acked = c.Acked
	}
	v.mu.Unlock()
	v.s.m.acked(v.up.Name, seq)
	return v.s.trim()
}

// Wait returns once a block with Seq > after, and past the cursor, is
// stored: blocks the upstream already has (kept for another upstream) do
// not wake it.
func (v *View) Wait(ctx context.Context, after uint64) error {
	return v.s.q.Wait(ctx, max(after, v.Acked()))
}

// Sending records a block handed to the forwarder.
func (v *View) Sending(seq uint64) {
	v.mu.Lock()
	v.inflight[seq] = struct{}{}
	v.mu.Unlock()
}

// Release records that the forwarder's connection ended: nothing it was
// sending is in flight any more.
func (v *View) Release() {
	v.mu.Lock()
	clear(v.inflight)
	v.mu.Unlock()
}
