package upstreams

import (
	"fmt"

	"github.com/edgerelay/edgerelay/store"
)

// Drop reasons (edgerelay_upstream_dropped_blocks_total's reason label).
const (
	// reasonBacklog: the upstream's max_backlog_bytes.
	reasonBacklog = "max_backlog_bytes"
	// reasonGeneration: a later block of a generation whose older blocks
	// the cap dropped for the upstream; sending it would need their bases.
	reasonGeneration = "generation_dropped"
)

// Backlog returns the stored bytes the upstream has not acknowledged. It
// reads the meta records of the shorter side of its cursor: an upstream
// that is down reads from the head up to its cursor, one that keeps up
// from its cursor to the tail.
func (v *View) Backlog() (int64, error) {
	st := v.s.q.Stats()
	c := v.Acked()
	switch {
	case st.Blocks == 0 || c >= st.NextSeq-1:
		return 0, nil
	case c < st.HeadSeq:
		return st.Bytes, nil
	}
	before, after := c-st.HeadSeq+1, st.NextSeq-1-c
	if after <= before {
		infos, err := v.s.q.Info(c, int(after))
		return sumBytes(infos, 0, ^uint64(0)), err
	}
	infos, err := v.s.q.Info(st.HeadSeq-1, int(before))
	return max(st.Bytes-sumBytes(infos, 0, c), 0), err
}

// sumBytes adds the bytes of the blocks of infos with from <= Seq <= to.
func sumBytes(infos []store.BlockInfo, from, to uint64) int64 {
	var n int64
	for _, b := range infos {
		if from <= b.Seq && b.Seq <= to {
			n += b.Bytes
		}
	}
	return n
}

// enforceCap drops for the upstream its oldest unacknowledged blocks,
// whole generations at a time, while its backlog exceeds MaxBacklogBytes.
// It acts only while nothing is in flight to the upstream (it is down or
// idle): a connected upstream that is merely slow is bounded by the
// queue's own cap. It reports whether it dropped anything.
func (v *View) enforceCap() (bool, error) {
	limit := v.up.MaxBacklogBytes
	if limit <= 0 || v.s.q.Stats().Bytes <= limit {
		return false, nil
	}
	v.mu.Lock()
	busy := len(v.inflight) > 0
	c := v.cur
	v.mu.Unlock()
	if busy {
		return false, nil
	}
	total, err := v.Backlog()
	if err != nil || total <= limit {
		return false, err
	}
	drop, err := v.cut(c.Acked, total-limit)
	if err != nil || drop.n == 0 {
		return false, err
	}
	nc := store.Cursor{Acked: drop.last.Seq, Skip: c.Skip}
	if drop.last.Group != 0 {
		// Later blocks of this generation (appended before the edge starts
		// a new one) would need the bases just dropped.
		nc.Skip = drop.last.Group
	}
	v.mu.Lock()
	if len(v.inflight) > 0 || v.cur != c {
		v.mu.Unlock()
		return false, nil // a connection started meanwhile: next round
	}
	v.mu.Unlock()
	if err := v.s.q.SaveCursor(v.up.Name, nc); err != nil {
		return false, fmt.Errorf("upstream %s: %w", v.up.Name, err)
	}
	v.mu.Lock()
	v.cur = nc
	v.counted = max(v.counted, nc.Acked)
	v.mu.Unlock()
	v.s.m.dropped(v.up.Name, reasonBacklog, int64(drop.n), drop.samples)
	v.s.m.acked(v.up.Name, nc.Acked)
	v.s.log.Warn("upstream backlog over its cap: dropped its oldest blocks for this upstream only",
		"upstream", v.up.Name, "blocks", drop.n, "bytes", drop.bytes, "samples", drop.samples,
		"first_seq", drop.first, "last_seq", drop.last.Seq, "max_backlog_bytes", limit)
	return true, v.s.trim()
}

// cutRange is what enforceCap drops.
type cutRange struct {
	n              int
	bytes, samples int64
	first          uint64
	last           store.BlockInfo
}

// cut returns the oldest blocks after the Seq after that hold at least over
// bytes, continued through the end of the last one's generation
// (consecutive blocks of one non-zero group), reading meta records a
// chunk at a time.
func (v *View) cut(after uint64, over int64) (cutRange, error) {
	var r cutRange
	for {
		infos, err := v.s.q.Info(after, 1024)
		if err != nil || len(infos) == 0 {
			return r, err
		}
		for _, b := range infos {
			if r.n > 0 && r.bytes >= over && (r.last.Group == 0 || b.Group != r.last.Group) {
				return r, nil
			}
			if r.n == 0 {
				r.first = b.Seq
			}
			r.n++
			r.bytes += b.Bytes
			r.samples += b.Samples
			r.last = b
		}
		after = infos[len(infos)-1].Seq
	}
}

// advanceSkipped moves the cursor over blocks of the skipped generation
// at its head while nothing is in flight, so the queue need not keep them
// for this upstream.
func (v *View) advanceSkipped() error {
	v.mu.Lock()
	c, busy := v.cur, len(v.inflight) > 0
	v.mu.Unlock()
	if c.Skip == 0 || busy {
		return nil
	}
	infos, err := v.s.q.Info(c.Acked, 256)
	if err != nil {
		return err
	}
	var skipped []store.Block
	for _, b := range infos {
		if b.Group != c.Skip {
			break
		}
		skipped = append(skipped, store.Block{Seq: b.Seq, Samples: int(b.Samples)})
	}
	if len(skipped) == 0 {
		return nil
	}
	v.countSkipped(skipped)
	nc := store.Cursor{Acked: skipped[len(skipped)-1].Seq, Skip: c.Skip}
	v.mu.Lock()
	if len(v.inflight) > 0 || v.cur != c {
		v.mu.Unlock()
		return nil
	}
	v.mu.Unlock()
	if err := v.s.q.SaveCursor(v.up.Name, nc); err != nil {
		return err
	}
	v.mu.Lock()
	v.cur = nc
	v.mu.Unlock()
	return v.s.trim()
}
