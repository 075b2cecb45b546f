package store

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Cursors let several receivers share one queue (the edge's upstreams):
// each has a named Cursor, persisted here, saying how far it acknowledged
// the queue; the caller deletes blocks (AckThrough) once every receiver
// that needs them is past them. Info reads the blocks' meta records only,
// so a caller can size a receiver's backlog and find delta generations
// (Record.Group) without reading data.

// Cursor is one receiver's position in the queue.
type Cursor struct {
	// Acked is the Seq through which the receiver acknowledged the queue
	// (or had blocks dropped for it).
	Acked uint64
	// Skip is a group (Record.Group) whose blocks the receiver no longer
	// takes, because older blocks of it were dropped for that receiver;
	// 0: none.
	Skip uint64
}

const prefixCursor = 'u'

func cursorKey(name string) []byte { return append([]byte{prefixCursor}, name...) }

// LoadCursor returns the persisted cursor of name; the zero Cursor when
// there is none, or when its record is damaged (logged): the receiver then
// gets every queued block again and drops those it holds as repeats.
func (q *Queue) LoadCursor(name string) (Cursor, error) {
	if err := q.enter(); err != nil {
		return Cursor{}, err
	}
	defer q.life.RUnlock()
	var c Cursor
	err := q.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(cursorKey(name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			c = q.parseCursor(name, v)
			return nil
		})
	})
	if err != nil {
		return Cursor{}, fmt.Errorf("load cursor %q: %w", name, err)
	}
	return c, nil
}

// parseCursor reads a cursor record; a damaged one (logged) is the zero
// Cursor: the receiver starts over from the oldest block, nothing is lost,
// and it drops what it already holds as repeats.
func (q *Queue) parseCursor(name string, v []byte) Cursor {
	if len(v) != 16 {
		q.log.Warn("corrupt cursor record; the receiver starts from the oldest queued block", "name", name, "bytes", len(v))
		return Cursor{}
	}
	var c Cursor
	c.Acked, _ = parseU64(v[:8])
	c.Skip, _ = parseU64(v[8:])
	return c
}

// SaveCursor persists the cursor of name, synced.
func (q *Queue) SaveCursor(name string, c Cursor) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.life.RUnlock()
	q.wmu.Lock()
	defer q.wmu.Unlock()
	err := q.update(func(txn *badger.Txn) error {
		return txn.Set(cursorKey(name), append(u64(c.Acked), u64(c.Skip)...))
	})
	if err != nil {
		return fmt.Errorf("save cursor %q: %w: %w", name, ErrUnavailable, err)
	}
	return nil
}

// BlockInfo is what the queue's meta record says of a block.
type BlockInfo struct {
	Seq     uint64
	Bytes   int64
	Samples int64
	Time    int64
	Group   uint64
}

// Info returns the meta of stored blocks with Seq > after, oldest first,
// at most max (<= 0: no limit). Corrupt records are left out.
func (q *Queue) Info(after uint64, max int) ([]BlockInfo, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.life.RUnlock()
	q.mu.Lock()
	from, end := after+1, q.st.next
	if from <= q.st.acked {
		from = q.st.acked + 1
	}
	q.mu.Unlock()
	var out []BlockInfo
	err := q.db.View(func(txn *badger.Txn) (err error) {
		out, _, err = metasOf(txn, from, end, max, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue info: %w", err)
	}
	return out, nil
}
