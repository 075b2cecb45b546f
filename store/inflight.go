package store

import "slices"

// Blocks handed to a sender and not yet acknowledged are in flight. The
// MaxBytes cap still deletes them oldest first (the cap always holds), but
// whether such a block was lost is known only later: the cloud may already
// have it. Its drop is therefore held back, and counted only when the
// sender releases its blocks without the block having been acknowledged;
// when AckThrough reaches it, it was delivered and is not counted. So
// Stats.DroppedSamples is exactly what never reached the receiver.

// heldDrop is a block deleted by the cap while in flight.
type heldDrop struct {
	seq     uint64
	bytes   int64
	samples int64
}

// Sending records that block seq was handed to a sender: read to be sent.
// Call it once the block is read; call Release when the sender stops.
func (q *Queue) Sending(seq uint64) {
	q.mu.Lock()
	q.inflight[seq] = struct{}{}
	q.mu.Unlock()
}

// Release records that the sender stopped: blocks deleted by the cap while
// in flight and not acknowledged since are counted as dropped now and
// reported to Options.OnDrop (from the calling goroutine).
func (q *Queue) Release() {
	q.mu.Lock()
	held := q.held
	q.held = nil
	clear(q.inflight)
	var d Dropped
	for _, h := range held {
		if d.Blocks == 0 {
			d.FirstSeq = h.seq
		}
		d.Blocks++
		d.Bytes += h.bytes
		d.Samples += h.samples
		d.LastSeq = h.seq
	}
	q.st.droppedBlocks += int64(d.Blocks)
	q.st.droppedSamples += d.Samples
	q.mu.Unlock()
	q.reportDrop(d)
}

// delivered forgets held drops and blocks in flight with from <= Seq <=
// through: the receiver acknowledged them. It must be called with q.mu held.
func (q *Queue) delivered(from, through uint64) {
	q.held = slices.DeleteFunc(q.held, func(h heldDrop) bool { return from <= h.seq && h.seq <= through })
	for seq := range q.inflight {
		if from <= seq && seq <= through {
			delete(q.inflight, seq)
		}
	}
}

// reportDrop hands d to OnDrop, or logs it without one.
func (q *Queue) reportDrop(d Dropped) {
	if d.Blocks == 0 {
		return
	}
	if q.opt.OnDrop != nil {
		q.opt.OnDrop(d)
		return
	}
	q.log.Warn("queue full: dropped oldest blocks", "blocks", d.Blocks, "bytes", d.Bytes,
		"samples", d.Samples, "first_seq", d.FirstSeq, "last_seq", d.LastSeq, "max_bytes", q.opt.MaxBytes)
}
