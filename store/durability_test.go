package store

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

func TestConcurrentAppend(t *testing.T) {
	const writers, perWriter = 16, 40
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	type sent struct {
		seq  uint64
		data []byte
	}
	got := make([][]sent, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				n := 1 + (w*perWriter+i)%3 // calls of 1-3 records
				var recs []Record
				for j := range n {
					recs = append(recs, Record{Data: fmt.Appendf(nil, "w%d-i%d-j%d", w, i, j), Samples: j})
				}
				first, err := q.Append(recs...)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				for j, r := range recs {
					got[w] = append(got[w], sent{first + uint64(j), r.Data})
				}
			}
		})
	}
	wg.Wait()
	want := map[uint64][]byte{}
	for w := range got {
		for i, s := range got[w] {
			if i > 0 && s.seq <= got[w][i-1].seq {
				t.Fatalf("writer %d: seq %d after %d", w, s.seq, got[w][i-1].seq)
			}
			if _, dup := want[s.seq]; dup {
				t.Fatalf("seq %d returned twice", s.seq)
			}
			want[s.seq] = s.data
		}
	}
	check := func(q *Queue) {
		bs := mustRead(t, q, 0, 0, 0)
		if len(bs) != len(want) {
			t.Fatalf("read %d blocks, appended %d", len(bs), len(want))
		}
		for i, b := range bs {
			if b.Seq != uint64(i+1) {
				t.Fatalf("block %d has seq %d", i, b.Seq)
			}
			if !bytes.Equal(b.Data, want[b.Seq]) {
				t.Fatalf("seq %d: data %q, want %q", b.Seq, b.Data, want[b.Seq])
			}
		}
	}
	check(q)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	check(openQueue(t, dir, Options{}))
}

// rawUpdate writes directly to the queue's Badger database, bypassing the
// queue, to simulate damage and interrupted commits.
func rawUpdate(t *testing.T, q *Queue, fn func(txn *badger.Txn) error) {
	t.Helper()
	if err := q.db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptBlocksSkipped(t *testing.T) {
	tests := []struct {
		name   string
		damage func(txn *badger.Txn) error
		// reopen: the damage is found on Open (meta) rather than on Read.
		reopen bool
	}{
		{"data bit flip", func(txn *badger.Txn) error {
			d := rec(1, 500).Data
			d[7] ^= 1
			return txn.Set(dataKey(2, 0), d)
		}, false},
		{"data chunk missing", func(txn *badger.Txn) error { return txn.Delete(dataKey(2, 0)) }, false},
		{"meta garbage", func(txn *badger.Txn) error { return txn.Set(metaKey(2), []byte("garbage")) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openQueue(t, dir, Options{})
			for i := range 4 {
				mustAppend(t, q, rec(i, 500))
			}
			rawUpdate(t, q, tt.damage)
			if tt.reopen {
				if err := q.Close(); err != nil {
					t.Fatal(err)
				}
				q = openQueue(t, dir, Options{})
			}
			for range 2 { // counted once however often it is read
				bs := mustRead(t, q, 0, 0, 0)
				if got := fmt.Sprint(seqs(bs)); got != "[1 3 4]" {
					t.Fatalf("read %v", got)
				}
				for _, b := range bs {
					checkBlock(t, b, rec(int(b.Seq-1), 500))
				}
			}
			if st := q.Stats(); st.Corrupt != 1 {
				t.Fatalf("corrupt = %d", st.Corrupt)
			}
			if err := q.AckThrough(3); err != nil {
				t.Fatal(err)
			}
			if st := q.Stats(); st.Blocks != 1 || st.Bytes != 500 || st.HeadSeq != 4 {
				t.Fatalf("after ack: %+v", st)
			}
			var left int
			_ = q.db.View(func(txn *badger.Txn) error {
				left = len(keysFrom(txn, prefixData, dataKey(0, 0), nil)) + len(keysFrom(txn, prefixMeta, metaKey(0), nil))
				return nil
			})
			if left != 2 {
				t.Fatalf("%d keys left, want the 2 of block 4", left)
			}
		})
	}
}

func TestInterruptedAppendDiscarded(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	mustAppend(t, q, rec(0, 100), rec(1, 100))
	// A group commit that wrote its first transaction but not the one
	// carrying the next-sequence marker.
	rawUpdate(t, q, func(txn *badger.Txn) error {
		r := rec(7, 300_000)
		m := newMeta(r)
		if err := txn.Set(metaKey(3), m.encode()); err != nil {
			return err
		}
		return txn.Set(dataKey(3, 0), r.Data[:chunkSize])
	})
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, dir, Options{})
	if got := fmt.Sprint(seqs(mustRead(t, q, 0, 0, 0))); got != "[1 2]" {
		t.Fatalf("read %v", got)
	}
	if st := q.Stats(); st.Blocks != 2 || st.NextSeq != 3 || st.Corrupt != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := mustAppend(t, q, rec(2, 100)); got != 3 {
		t.Fatalf("seq %d, want 3", got)
	}
	bs := mustRead(t, q, 2, 0, 0)
	if len(bs) != 1 {
		t.Fatalf("read %d blocks", len(bs))
	}
	checkBlock(t, bs[0], rec(2, 100))
}
