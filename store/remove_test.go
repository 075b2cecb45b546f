package store

import (
	"bytes"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// TestBlockKeysMetaLast: a block's meta record is deleted after its data
// chunks, so a deletion cut by a crash never strands chunks that no meta
// record leads to.
func TestBlockKeysMetaLast(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	mustAppend(t, q, rec(0, 3*chunkSize+1)) // seq 1, 4 chunks
	_ = q.db.View(func(txn *badger.Txn) error {
		for _, corrupt := range []bool{false, true} {
			keys := blockKeys(txn, nil, 1, meta{Chunks: 4}, corrupt)
			if len(keys) != 5 || !bytes.Equal(keys[4], metaKey(1)) {
				t.Errorf("corrupt %v: keys %q, want 4 data keys then the meta key", corrupt, keys)
			}
		}
		return nil
	})
}
