package store

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Lanes let a sender ship new blocks while an old backlog still drains.
// StartLane splits the queue at the next Seq: blocks before the split are
// the backlog lane, blocks from it on the live lane. Each block's lane is
// fixed once the split is durable, and lanes are numbered 0 and 1,
// alternating at each split, so a receiver that keeps state per lane (the
// cloud's delta bases) always finds a lane's blocks in Seq order, whatever
// the sender interleaves between lanes. A queue never split has one lane, 0.
//
// A new split may start only once the backlog lane is empty, so at most two
// lanes ever hold blocks. AckRange deletes acknowledged blocks of the live
// lane while older ones wait. Stats.Split and Stats.Backlog say where the
// queue is split now. Package lanes decides when to split and how each lane
// is read and acknowledged; StartLane and AckRange are for it.

// Split is where the newer lane starts: blocks with Seq >= Seq are in lane
// Lane, older ones in the other lane. The zero Split means no split ever
// happened: every block is in lane 0.
type Split struct {
	Seq  uint64
	Lane uint8
}

// LaneOf returns the lane of the block with Seq seq.
func (s Split) LaneOf(seq uint64) uint8 {
	if s.Seq == 0 || seq >= s.Seq {
		return s.Lane
	}
	return 1 - s.Lane
}

// ErrBacklog is returned by StartLane while blocks of the backlog lane remain.
var ErrBacklog = errors.New("the backlog lane still holds blocks")

var keySplit = []byte("zsplit") // Seq u64, lane u8

// backlogLocked reports whether blocks before the split remain: the
// backlog lane is not drained yet. It must be called with q.mu held.
func (q *Queue) backlogLocked() bool {
	return q.split.Seq != 0 && q.st.blocks > 0 && q.st.head < q.split.Seq
}

// StartLane durably splits the queue at the next Seq: what is stored now
// becomes the backlog lane, what is appended from now on the live lane.
// The caller must be the queue's only appender and must not append
// concurrently, so that it knows which of its blocks fall on which side.
// It fails with ErrBacklog while the backlog lane of an earlier split still
// holds blocks.
func (q *Queue) StartLane() (Split, error) {
	if err := q.enter(); err != nil {
		return Split{}, err
	}
	defer q.life.RUnlock()
	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.mu.Lock()
	if q.backlogLocked() {
		q.mu.Unlock()
		return Split{}, ErrBacklog
	}
	s := Split{Seq: q.st.next, Lane: 1}
	if q.split.Seq != 0 {
		s.Lane = 1 - q.split.Lane
	}
	q.mu.Unlock()
	err := q.update(func(txn *badger.Txn) error {
		return txn.Set(keySplit, append(u64(s.Seq), s.Lane))
	})
	if err != nil {
		return Split{}, fmt.Errorf("start lane: %w: %w", ErrUnavailable, err)
	}
	q.mu.Lock()
	q.split = s
	q.mu.Unlock()
	return s, nil
}

func parseSplit(v []byte) (Split, error) {
	if len(v) != 9 || v[8] > 1 {
		return Split{}, fmt.Errorf("%w: split record of %d bytes", errCorrupt, len(v))
	}
	s := Split{Lane: v[8]}
	s.Seq, _ = parseU64(v[:8])
	return s, nil
}

// AckRange deletes every block with from <= Seq <= through, unsynced as
// AckThrough: the
// receiver acknowledged them, possibly before older blocks of another lane.
// When no stored block is older than from, it is AckThrough(through),
// retention included; otherwise nothing of the range is retained.
func (q *Queue) AckRange(from, through uint64) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.life.RUnlock()
	q.wmu.Lock()
	defer q.wmu.Unlock()
	q.mu.Lock()
	atHead := from <= q.st.acked+1 || (q.st.head != 0 && from <= q.st.head)
	q.mu.Unlock()
	var err error
	if q.opt.RetainBytes > 0 && atHead {
		err = q.ackRetain(through)
	} else {
		_, err = q.remove(from, through, 0)
	}
	if err != nil {
		return fmt.Errorf("ack %d..%d: %w: %w", from, through, ErrUnavailable, err)
	}
	q.mu.Lock()
	q.delivered(from, through)
	q.mu.Unlock()
	return nil
}
