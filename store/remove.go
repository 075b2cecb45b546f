package store

import (
	"errors"
	"fmt"
	"maps"

	badger "github.com/dgraph-io/badger/v4"
)

// removed summarises blocks deleted from the head of the queue.
type removed struct {
	blocks         int
	bytes, samples int64
	acked          uint64 // new persisted acked sequence
	newHead        uint64 // oldest valid block left, 0 if none
	newHeadTime    int64
	// For cap drops: what is counted now, and what was in flight and is
	// held back until the sender acknowledges or releases it.
	dropped Dropped
	held    []heldDrop
}

// remove deletes blocks from the head: every block with Seq <= through
// when need is 0, otherwise the oldest blocks until their data bytes reach
// need (used by the MaxBytes cap). With need 0 and from past the oldest
// stored block it deletes only the blocks from from through through, and
// the head stays (AckRange). It reads only meta records, writes the
// deletions and the new acked sequence in the last transaction, and
// updates the state. It must be called with q.wmu held.
func (q *Queue) remove(from, through uint64, need int64) (removed, error) {
	q.mu.Lock()
	acked, next, head := q.st.acked, q.st.next, q.st.head
	inflight := maps.Clone(q.inflight)
	q.mu.Unlock()
	through = min(through, next-1)
	if through <= acked {
		return removed{acked: acked}, nil
	}
	if need == 0 && from > acked+1 && (head == 0 || from > head) {
		return q.removeRange(from, through)
	}
	r, keys, err := q.scanHead(acked, through, next, need, inflight)
	if err != nil {
		return removed{}, err
	}
	if need == 0 {
		r.acked = through
	}
	if r.acked == acked {
		return r, nil
	}
	if err := q.deleteKeys(keys, &r.acked, need > 0); err != nil {
		return removed{}, err
	}
	q.applyRemoved(r, need)
	return r, nil
}

// scanHead reads the meta records from the head (the block after acked) and
// returns the keys of the blocks remove deletes, what they hold, the new
// acked sequence and the block that becomes the head, if any. With need > 0
// it counts the blocks the cap drops, holding back those in flight.
func (q *Queue) scanHead(acked, through, next uint64, need int64, inflight map[uint64]struct{}) (removed, [][]byte, error) {
	r := removed{acked: acked}
	var keys [][]byte
	var group uint64 // of the last block deleted
	err := q.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixMeta}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek(metaKey(acked + 1)); it.Valid(); it.Next() {
			seq, _ := seqOfKey(it.Item().Key())
			if seq >= next {
				break
			}
			m, corrupt, err := itemMeta(it.Item(), seq)
			if err != nil {
				return err
			}
			// The cap goes on through the rest of the last deleted block's group.
			if seq > through || (need > 0 && r.bytes >= need && (corrupt || group == 0 || m.Group != group)) {
				if corrupt {
					continue
				}
				r.newHead, r.newHeadTime = seq, m.Time
				break
			}
			keys = blockKeys(txn, keys, seq, m, corrupt)
			r.acked = seq
			if corrupt {
				continue
			}
			r.blocks++
			r.bytes += int64(m.Len)
			r.samples += m.Samples
			group = m.Group
			if need > 0 {
				r.countDrop(seq, m, inflight)
			}
		}
		return nil
	})
	return r, keys, err
}

// countDrop counts block seq as dropped by the cap, or as held back when it
// is in flight.
func (r *removed) countDrop(seq uint64, m meta, inflight map[uint64]struct{}) {
	if _, ok := inflight[seq]; ok {
		r.held = append(r.held, heldDrop{seq: seq, bytes: int64(m.Len), samples: m.Samples})
		return
	}
	if r.dropped.Blocks == 0 {
		r.dropped.FirstSeq = seq
	}
	r.dropped.Blocks++
	r.dropped.Bytes += int64(m.Len)
	r.dropped.Samples += m.Samples
	r.dropped.LastSeq = seq
}

// applyRemoved updates the queue's state after the deletion of r from the
// head, and with need > 0 counts the cap's drops.
func (q *Queue) applyRemoved(r removed, need int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := &q.st
	s.acked = r.acked
	if r.newHead == 0 {
		s.blocks, s.bytes, s.samples = 0, 0, 0
		s.head, s.oldestTime, s.newestTime = 0, 0, 0
	} else {
		s.blocks = max(s.blocks-r.blocks, 1)
		s.bytes = max(s.bytes-r.bytes, 0)
		s.samples = max(s.samples-r.samples, 0)
		s.head, s.oldestTime = r.newHead, r.newHeadTime
	}
	if need > 0 {
		s.droppedBlocks += int64(r.dropped.Blocks)
		s.droppedSamples += r.dropped.Samples
		q.held = append(q.held, r.held...)
	}
}

// removeRange deletes the blocks with from <= Seq <= through, all newer
// than the head, which stays; so does the persisted acked sequence. It must
// be called with q.wmu held.
func (q *Queue) removeRange(from, through uint64) (removed, error) {
	var r removed
	var keys [][]byte
	var infos []BlockInfo
	err := q.db.View(func(txn *badger.Txn) (err error) {
		infos, keys, err = metasOf(txn, from, through+1, 0, true)
		return err
	})
	for _, b := range infos {
		r.blocks++
		r.bytes += b.Bytes
		r.samples += b.Samples
	}
	if err != nil || len(keys) == 0 {
		return r, err
	}
	if err := q.deleteKeys(keys, nil, false); err != nil {
		return removed{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s := &q.st
	r.acked = s.acked
	s.blocks = max(s.blocks-r.blocks, 0)
	s.bytes = max(s.bytes-r.bytes, 0)
	s.samples = max(s.samples-r.samples, 0)
	if s.blocks == 0 {
		s.bytes, s.samples = 0, 0
		s.head, s.oldestTime, s.newestTime = 0, 0, 0
	}
	return r, nil
}

// itemMeta decodes the meta record it holds for block seq; corrupt is true
// (and err nil) when the record is damaged.
func itemMeta(it *badger.Item, seq uint64) (m meta, corrupt bool, err error) {
	err = it.Value(func(v []byte) (err error) {
		m, err = decodeMeta(v)
		return err
	})
	if errors.Is(err, errCorrupt) {
		return m, true, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read block meta %d: %w", seq, err)
	}
	return m, false, nil
}

// blockKeys appends the keys of block seq to keys: its data chunks (every
// data key of seq when the meta is corrupt), then its meta record. Meta
// last: a deletion cut between transactions by a crash leaves at worst a
// block whose chunks are partly gone, which reads as corrupt and goes with
// the next removal, never chunks without a meta that nothing would find.
func blockKeys(txn *badger.Txn, keys [][]byte, seq uint64, m meta, corrupt bool) [][]byte {
	if corrupt {
		keys = append(keys, keysFrom(txn, prefixData, dataKey(seq, 0), dataKey(seq+1, 0))...)
	} else {
		for c := uint32(0); c < m.Chunks; c++ {
			keys = append(keys, dataKey(seq, c))
		}
	}
	return append(keys, metaKey(seq))
}

// deleteKeys deletes keys, in order, and, when acked is set, persists it
// as the new acked sequence, written last: in one transaction unless there
// are more keys than Badger takes in one, when a crash may leave some of
// the blocks deleted under the old acked sequence, a gap Open rebuilds over.
// Pairs of key and value in set are written with the acked sequence.
//
// Deletions are synced only when synced is set (the MaxBytes cap): an
// acknowledgement is written unsynced and reaches the disk with the next
// synced write or memtable flush, so a power loss can bring back blocks
// acknowledged just before it, which the cloud acknowledges again without
// applying them (it keeps the ranges it handled).
func (q *Queue) deleteKeys(keys [][]byte, acked *uint64, synced bool, set ...[]byte) error {
	w := q.newTxnWriter(synced)
	defer w.discard()
	for _, k := range keys {
		if err := w.del(k); err != nil {
			return fmt.Errorf("delete blocks: %w", err)
		}
	}
	for i := 0; i+1 < len(set); i += 2 {
		if err := w.set(set[i], set[i+1]); err != nil {
			return fmt.Errorf("delete blocks: %w", err)
		}
	}
	if acked != nil {
		if err := w.set(keyAcked, u64(*acked)); err != nil {
			return fmt.Errorf("delete blocks: %w", err)
		}
	}
	if err := w.commit(); err != nil {
		return fmt.Errorf("delete blocks: %w", err)
	}
	return nil
}
