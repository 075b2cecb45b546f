package store

import (
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// formerKeys are where queues written before the keys rewritten by every
// commit moved to the end of the key space (record.go) kept them.
var formerKeys = []struct{ old, now []byte }{
	{[]byte("cnext"), keyNext},
	{[]byte("cacked"), keyAcked},
	{[]byte("csplit"), keySplit},
	{[]byte("cretain"), keyRetain},
}

// migrateKeys moves the state keys of a queue in the former layout to
// their places, in one synced transaction: a crash leaves the queue in one
// layout or the other, never between. A queue already moved is left
// alone. An edgerelay from before the move refuses a moved queue ("next
// sequence") rather than misreading it. Open calls it before anything
// else reads or writes.
func (q *Queue) migrateKeys() (moved bool, err error) {
	err = q.db.Update(func(txn *badger.Txn) error {
		for _, k := range formerKeys {
			it, err := txn.Get(k.old)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			v, err := it.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := txn.Set(k.now, v); err != nil {
				return err
			}
			if err := txn.Delete(k.old); err != nil {
				return err
			}
			moved = true
		}
		return nil
	})
	if err == nil && moved {
		err = q.db.Sync()
	}
	if err != nil {
		return false, fmt.Errorf("move the queue's state keys: %w", err)
	}
	return moved, nil
}
