package store

import (
	"bytes"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Read returns stored blocks with Seq > after, oldest first: at most
// maxBlocks blocks and maxBytes data bytes (either <= 0: no limit), but at
// least one block if any exists even when it alone exceeds maxBytes.
// It starts at the remembered head, never at the first key ever written.
// A corrupt block is skipped, counted in Stats.Corrupt and logged.
// The returned Data is owned by the caller.
func (q *Queue) Read(after uint64, maxBlocks int, maxBytes int) ([]Block, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.life.RUnlock()
	q.mu.Lock()
	from, end := max(after+1, q.st.acked+1), q.st.next
	q.mu.Unlock()
	return q.readRange(from, end, maxBlocks, maxBytes)
}

// readRange reads the blocks with from <= Seq < end, bounded as Read's.
// The caller holds q.life.
func (q *Queue) readRange(from, end uint64, maxBlocks int, maxBytes int) ([]Block, error) {
	if from >= end {
		return nil, nil
	}
	q.mu.Lock()
	split := q.split
	q.mu.Unlock()
	var out []Block
	err := q.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte{prefixMeta}
		mit := txn.NewIterator(opt)
		defer mit.Close()
		opt.Prefix = []byte{prefixData}
		dit := txn.NewIterator(opt)
		defer dit.Close()
		total := 0
		for mit.Seek(metaKey(from)); mit.Valid(); mit.Next() {
			seq, _ := seqOfKey(mit.Item().Key())
			if seq >= end {
				break
			}
			var m meta
			err := mit.Item().Value(func(v []byte) (err error) {
				m, err = decodeMeta(v)
				return err
			})
			if errors.Is(err, errCorrupt) {
				q.countCorrupt(seq, err)
				continue
			}
			if err != nil {
				return fmt.Errorf("read block meta %d: %w", seq, err)
			}
			if len(out) > 0 && maxBytes > 0 && total+int(m.Len) > maxBytes {
				break
			}
			data, err := readData(dit, seq, m)
			if errors.Is(err, errCorrupt) {
				q.countCorrupt(seq, err)
				continue
			}
			if err != nil {
				return fmt.Errorf("read block %d: %w", seq, err)
			}
			out = append(out, Block{Seq: seq, Data: data, Samples: int(m.Samples), Time: m.Time, Group: m.Group, Lane: split.LaneOf(seq)})
			total += int(m.Len)
			if maxBlocks > 0 && len(out) >= maxBlocks {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read queue: %w", err)
	}
	return out, nil
}

// readData reads and verifies the data chunks of block seq.
func readData(dit *badger.Iterator, seq uint64, m meta) ([]byte, error) {
	data := make([]byte, 0, m.Len)
	// Data keys are read in order: seek only when the iterator is not
	// already there (a Seek discards the items Badger has copied ahead).
	if k := dataKey(seq, 0); !dit.Valid() || !bytes.Equal(dit.Item().Key(), k) {
		dit.Seek(k)
	}
	for c := uint32(0); c < m.Chunks; c++ {
		if !dit.Valid() || !bytes.Equal(dit.Item().Key(), dataKey(seq, c)) {
			return nil, fmt.Errorf("%w: chunk %d of %d missing", errCorrupt, c, m.Chunks)
		}
		if len(data)+int(dit.Item().ValueSize()) > int(m.Len) {
			return nil, fmt.Errorf("%w: data longer than %d bytes", errCorrupt, m.Len)
		}
		err := dit.Item().Value(func(v []byte) error {
			data = append(data, v...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		dit.Next()
	}
	if err := m.checkData(data); err != nil {
		return nil, err
	}
	return data, nil
}

// AckThrough deletes every block with Seq <= seq, unsynced: the deletion
// reaches the disk with the next append (deleteKeys). Acknowledging
// past the newest block deletes everything stored and nothing appended
// later. With Options.RetainBytes, the acknowledged blocks of the newest
// acknowledged group are kept aside instead (retain.go).
func (q *Queue) AckThrough(seq uint64) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.life.RUnlock()
	q.wmu.Lock()
	defer q.wmu.Unlock()
	if q.opt.RetainBytes > 0 {
		if err := q.ackRetain(seq); err != nil {
			return fmt.Errorf("ack through %d: %w: %w", seq, ErrUnavailable, err)
		}
	} else if _, err := q.remove(0, seq, 0); err != nil {
		return fmt.Errorf("ack through %d: %w: %w", seq, ErrUnavailable, err)
	}
	q.mu.Lock()
	q.delivered(0, seq)
	q.mu.Unlock()
	return nil
}
