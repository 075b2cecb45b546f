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

// Backlog returns the stored bytes and blocks the upstream has not
// acknowledged. It reads the meta records past its cursor.
func (v *View) Backlog() (bytes int64, blocks int, err error) {
	infos, err := v.s.q.Info(v.Acked(), 0)
	if err != nil {
		return 0, 0, err
	}
	for _, b := range infos {
		bytes += b.Bytes
	}
	return bytes, len(infos), nil
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
	infos, err := v.s.q.Info(c.Acked, 0)
	if err != nil {
		return false, err
	}
	var total int64
	for _, b := range infos {
		total += b.Bytes
	}
	over := total - limit
	if over <= 0 {
		return false, nil
	}
	n, drop := cutGroups(infos, over)
	last := infos[n-1]
	nc := store.Cursor{Acked: last.Seq, Skip: c.Skip}
	if last.Group != 0 {
		// Later blocks of this generation (appended before the edge starts
		// a new one) would need the bases just dropped.
		nc.Skip = last.Group
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
	v.s.m.dropped(v.up.Name, reasonBacklog, int64(n), drop.Samples)
	v.s.m.acked(v.up.Name, nc.Acked)
	v.s.log.Warn("upstream backlog over its cap: dropped its oldest blocks for this upstream only",
		"upstream", v.up.Name, "blocks", n, "bytes", drop.Bytes, "samples", drop.Samples,
		"first_seq", infos[0].Seq, "last_seq", last.Seq, "max_backlog_bytes", limit)
	return true, v.s.trim()
}

// cutGroups returns how many of infos, oldest first, to drop so that at
// least over bytes go: through the end of the last dropped block's
// generation (consecutive blocks of one non-zero group), and what they
// hold.
func cutGroups(infos []store.BlockInfo, over int64) (int, store.BlockInfo) {
	var sum store.BlockInfo
	n := 0
	for n < len(infos) && sum.Bytes < over {
		sum.Bytes += infos[n].Bytes
		sum.Samples += infos[n].Samples
		n++
	}
	g := infos[n-1].Group
	for g != 0 && n < len(infos) && infos[n].Group == g {
		sum.Bytes += infos[n].Bytes
		sum.Samples += infos[n].Samples
		n++
	}
	return n, sum
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
