package store

import (
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// NamedCursor is a receiver's name and its Cursor.
type NamedCursor struct {
	Name string
	Cursor
}

// Cursors returns every persisted cursor, sorted by name (the keys'
// order); damaged records are given as the zero Cursor, as LoadCursor
// gives them.
func (q *Queue) Cursors() ([]NamedCursor, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.life.RUnlock()
	var out []NamedCursor
	err := q.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixCursor}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			name := string(it.Item().Key()[1:])
			err := it.Item().Value(func(v []byte) error {
				out = append(out, NamedCursor{name, q.parseCursor(name, v)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cursors: %w", err)
	}
	return out, nil
}
