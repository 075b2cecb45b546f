package store

import (
	"fmt"
	"math"
)

// appendReq is one Append call waiting for a group commit.
type appendReq struct {
	recs  []Record
	metas []meta
	bytes int64
	// Set by the committing goroutine under q.mu.
	done  bool
	first uint64
	err   error
}

// Append stores recs as consecutive blocks and returns the Seq of the
// first. It is all-or-nothing and durable (fsynced) when it returns.
// Concurrent calls are committed together: one goroutine writes the
// pending calls of all others as one group, normally one Badger transaction
// and one fsync (a call holding more than one transaction, ~560 KB, costs
// one fsync per transaction and stays all-or-nothing through the commit
// marker). recs' Data must not be modified until Append returns.
// Appending no records returns (0, nil).
//
// Errors: ErrTooLarge for a record over MaxBlockBytes or a call over
// MaxBytes; ErrClosed; otherwise an error wrapping ErrUnavailable (disk
// full, I/O), after which nothing of the call is visible.
func (q *Queue) Append(recs ...Record) (first uint64, err error) {
	if len(recs) == 0 {
		return 0, nil
	}
	req := &appendReq{recs: recs, metas: make([]meta, len(recs))}
	for i, r := range recs {
		if len(r.Data) > q.opt.MaxBlockBytes {
			return 0, fmt.Errorf("append block of %d bytes (max %d): %w", len(r.Data), q.opt.MaxBlockBytes, ErrTooLarge)
		}
		if r.Samples < 0 || r.Samples > math.MaxInt32 {
			return 0, fmt.Errorf("append block: invalid sample count %d", r.Samples)
		}
		req.metas[i] = newMeta(r)
		req.bytes += int64(len(r.Data))
	}
	if q.opt.MaxBytes > 0 && req.bytes > q.opt.MaxBytes {
		return 0, fmt.Errorf("append %d bytes (queue max_bytes %d): %w", req.bytes, q.opt.MaxBytes, ErrTooLarge)
	}
	if err := q.enter(); err != nil {
		return 0, err
	}
	defer q.life.RUnlock()

	q.mu.Lock()
	q.pending = append(q.pending, req)
	q.mu.Unlock()
	for {
		q.wmu.Lock()
		q.mu.Lock()
		done := req.done
		q.mu.Unlock()
		if done {
			q.wmu.Unlock()
			break
		}
		dropped := q.commitGroup(q.takeGroup())
		q.wmu.Unlock()
		q.reportDrop(dropped)
	}
	return req.first, req.err
}

// takeGroup removes the oldest pending calls, up to groupBytes (and
// MaxBytes) of data but at least one call.
func (q *Queue) takeGroup() []*appendReq {
	limit := int64(groupBytes)
	if q.opt.MaxBytes > 0 && q.opt.MaxBytes < limit {
		limit = q.opt.MaxBytes
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var group []*appendReq
	var n int64
	for len(q.pending) > 0 {
		r := q.pending[0]
		if len(group) > 0 && n+r.bytes > limit {
			break
		}
		group = append(group, r)
		n += r.bytes
		q.pending[0] = nil
		q.pending = q.pending[1:]
	}
	return group
}

// commitGroup makes group durable: it first deletes the oldest blocks if
// the cap needs room, then writes every block and the new next sequence.
// It must be called with q.wmu held.
func (q *Queue) commitGroup(group []*appendReq) Dropped {
	var bytes int64
	for _, r := range group {
		bytes += r.bytes
	}
	q.mu.Lock()
	first := q.st.next
	over := int64(0)
	if q.opt.MaxBytes > 0 {
		over = q.st.bytes + bytes - q.opt.MaxBytes
	}
	q.mu.Unlock()

	var dropped Dropped
	err := q.cleanStale()
	if err == nil && over > 0 {
		var r removed
		r, err = q.remove(0, math.MaxUint64, over)
		dropped = r.dropped
	}
	if err == nil {
		err = q.writeGroup(group, first)
	}
	if err != nil {
		err = fmt.Errorf("append: %w: %w", ErrUnavailable, err)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	seq := first
	for _, r := range group {
		r.done, r.err = true, err
		if err != nil {
			continue
		}
		r.first = seq
		for _, m := range r.metas {
			q.st.add(seq, m)
			seq++
		}
	}
	if err == nil {
		q.st.next = seq
		close(q.notify)
		q.notify = make(chan struct{})
	}
	return dropped
}

// writeGroup writes the blocks of group from Seq first on, then the new
// next sequence in the last transaction. On failure the keys it may have
// written are remembered in q.stale and removed before the next group.
func (q *Queue) writeGroup(group []*appendReq, first uint64) error {
	w := q.newTxnWriter(true)
	defer w.discard()
	seq := first
	var written [][]byte
	err := func() error {
		for _, r := range group {
			for i, rec := range r.recs {
				m := r.metas[i]
				k := metaKey(seq)
				written = append(written, k)
				if err := w.set(k, m.encode()); err != nil {
					return err
				}
				for c := uint32(0); c < m.Chunks; c++ {
					lo := int(c) * chunkSize
					hi := min(lo+chunkSize, len(rec.Data))
					k := dataKey(seq, c)
					written = append(written, k)
					if err := w.set(k, rec.Data[lo:hi]); err != nil {
						return err
					}
				}
				seq++
			}
		}
		if err := w.set(keyNext, u64(seq)); err != nil {
			return err
		}
		return w.commit()
	}()
	if err != nil {
		q.stale = written
		return fmt.Errorf("write blocks %d..%d: %w", first, seq, err)
	}
	return nil
}

// cleanStale deletes keys left by a failed group commit.
func (q *Queue) cleanStale() error {
	if len(q.stale) == 0 {
		return nil
	}
	w := q.newTxnWriter(true)
	defer w.discard()
	for _, k := range q.stale {
		if err := w.del(k); err != nil {
			return fmt.Errorf("clean up failed append: %w", err)
		}
	}
	if err := w.commit(); err != nil {
		return fmt.Errorf("clean up failed append: %w", err)
	}
	q.stale = nil
	return nil
}
