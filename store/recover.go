package store

import (
	"bytes"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// txnWriter writes a sequence of updates as few Badger transactions as the
// per-transaction limit allows, each synced when sync is set. Only the last
// transaction should carry the commit marker (keyNext or keyAcked): a crash
// between two transactions leaves the marker unchanged and Open discards
// the rest.
type txnWriter struct {
	db    *badger.DB
	txn   *badger.Txn
	n     int          // transactions committed
	sync  func() error // nil: transactions are not synced
	wrote func()       // told of each commit: the queue's compactor
}

// newTxnWriter returns a txnWriter on q's database whose transactions are
// synced (Queue.syncDB) when synced is set.
func (q *Queue) newTxnWriter(synced bool) *txnWriter {
	w := &txnWriter{db: q.db, txn: q.db.NewTransaction(true), wrote: q.compact.wrote}
	if synced {
		w.sync = q.syncDB
	}
	return w
}

// commitTxn commits the current transaction, synced when w.sync is set.
func (w *txnWriter) commitTxn() error {
	if err := w.txn.Commit(); err != nil {
		return err
	}
	w.n++
	w.wrote()
	if w.sync != nil {
		return w.sync()
	}
	return nil
}

func (w *txnWriter) apply(op func(*badger.Txn) error) error {
	err := op(w.txn)
	if !errors.Is(err, badger.ErrTxnTooBig) {
		return err
	}
	if err := w.commitTxn(); err != nil {
		return err
	}
	w.txn = w.db.NewTransaction(true)
	return op(w.txn)
}

func (w *txnWriter) set(k, v []byte) error {
	return w.apply(func(t *badger.Txn) error { return t.Set(k, v) })
}

func (w *txnWriter) del(k []byte) error {
	return w.apply(func(t *badger.Txn) error { return t.Delete(k) })
}

// commit commits the last transaction.
func (w *txnWriter) commit() error { return w.commitTxn() }

func (w *txnWriter) discard() { w.txn.Discard() }

// keysFrom returns every key with prefix p at or after from and before
// to (nil: no bound).
func keysFrom(txn *badger.Txn, p byte, from, to []byte) [][]byte {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = []byte{p}
	it := txn.NewIterator(opt)
	defer it.Close()
	var keys [][]byte
	for it.Seek(from); it.Valid(); it.Next() {
		if to != nil && bytes.Compare(it.Item().Key(), to) >= 0 {
			break
		}
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys
}

// dropUncommitted deletes meta and data keys at or past the persisted next
// sequence: the part of a group commit that was interrupted before its
// marker was written.
func (q *Queue) dropUncommitted() error {
	var keys [][]byte
	_ = q.db.View(func(txn *badger.Txn) error {
		keys = append(keysFrom(txn, prefixMeta, metaKey(q.st.next), nil),
			keysFrom(txn, prefixData, dataKey(q.st.next, 0), nil)...)
		return nil
	})
	if len(keys) == 0 {
		return nil
	}
	q.log.Warn("discarding an interrupted append", "keys", len(keys), "from_seq", q.st.next)
	w := q.newTxnWriter(true)
	defer w.discard()
	for _, k := range keys {
		if err := w.del(k); err != nil {
			return fmt.Errorf("discard interrupted append: %w", err)
		}
	}
	if err := w.commit(); err != nil {
		return fmt.Errorf("discard interrupted append: %w", err)
	}
	return nil
}

// rebuild recomputes the in-memory state from the meta records of the
// stored blocks, starting at the persisted head: keys deleted before it are
// never visited.
func (q *Queue) rebuild() error {
	return q.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixMeta}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek(metaKey(q.st.acked + 1)); it.Valid(); it.Next() {
			seq, _ := seqOfKey(it.Item().Key())
			if seq >= q.st.next {
				break
			}
			var m meta
			err := it.Item().Value(func(v []byte) error {
				var err error
				m, err = decodeMeta(v)
				return err
			})
			if errors.Is(err, errCorrupt) {
				q.st.corrupt++
				q.st.corruptMax = seq
				q.log.Warn("corrupt block meta skipped", "seq", seq, "err", err)
				continue
			}
			if err != nil {
				return fmt.Errorf("read block meta %d: %w", seq, err)
			}
			q.st.add(seq, m)
		}
		return nil
	})
}

// add counts one committed block at the tail.
func (s *state) add(seq uint64, m meta) {
	if s.blocks == 0 {
		s.head, s.oldestTime = seq, m.Time
	}
	s.blocks++
	s.bytes += int64(m.Len)
	s.samples += m.Samples
	s.newestTime = m.Time
}
