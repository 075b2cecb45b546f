package store

import (
	"fmt"
	"sort"

	badger "github.com/dgraph-io/badger/v4"
)

// NamedCursor is a receiver's name and its Cursor.
type NamedCursor struct {
	Name string
	Cursor
}

// Cursors returns every persisted cursor, by name; damaged records are
// given as the zero Cursor, as LoadCursor gives them.
func (q *Queue) Cursors() ([]NamedCursor, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	var names []string
	err := q.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix, opt.PrefetchValues = []byte{prefixCursor}, false
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			names = append(names, string(it.Item().Key()[1:]))
		}
		return nil
	})
	q.life.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("list cursors: %w", err)
	}
	sort.Strings(names)
	out := make([]NamedCursor, 0, len(names))
	for _, n := range names {
		c, err := q.LoadCursor(n)
		if err != nil {
			return nil, err
		}
		out = append(out, NamedCursor{n, c})
	}
	return out, nil
}
