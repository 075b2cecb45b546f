package store

import badger "github.com/dgraph-io/badger/v4"

// syncDB makes every write committed so far durable: Badger's active
// memtable log and value log. Nothing in SyncByCaller mode. The caller
// holds q.wmu from its commit on.
func (q *Queue) syncDB() error {
	if !q.synced {
		return nil
	}
	q.syncs.Add(1)
	return q.db.Sync()
}

// update runs fn in one Badger transaction and syncs it. The caller holds
// q.wmu.
func (q *Queue) update(fn func(txn *badger.Txn) error) error {
	if err := q.db.Update(fn); err != nil {
		return err
	}
	q.compact.wrote()
	return q.syncDB()
}
