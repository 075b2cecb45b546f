package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// TestCompactsWithoutBadgersCompactors streams 48 MiB through a queue that
// acknowledges as it goes, as an edge with its link up does, then keeps a
// 24 MiB backlog, as one in an outage does. Badger runs no compactor of its
// own: level 0 must stay below the 15 tables at which Badger stalls writes,
// the acknowledged blocks must be reclaimed, and every block kept must read
// back whole after a reopen.
func TestCompactsWithoutBadgersCompactors(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	const size = 64 << 10
	maxL0 := 0
	check := func() {
		if n := q.db.Levels()[0].NumTables; n > maxL0 {
			maxL0 = n
		}
	}
	// Link up: every block is acknowledged right after it is appended.
	for i := range 768 {
		seq := mustAppend(t, q, rec(i, size))
		if err := q.AckThrough(seq); err != nil {
			t.Fatal(err)
		}
		check()
	}
	// Link down: a backlog builds.
	first := uint64(0)
	for i := range 384 {
		seq := mustAppend(t, q, rec(i, size))
		if first == 0 {
			first = seq
		}
		check()
	}
	waitCompacted(t, q)
	if maxL0 >= 15 {
		t.Errorf("level 0 reached %d tables: Badger stalls writes at 15", maxL0)
	}
	if q.compact.runs.Load() == 0 {
		t.Fatal("no compaction ran")
	}
	var lsm int64
	for _, l := range q.db.Levels() {
		lsm += l.Size
	}
	if backlog := int64(384 * size); lsm > 2*backlog {
		t.Errorf("the tree holds %d bytes for a %d-byte backlog: acknowledged blocks were not reclaimed", lsm, backlog)
	}
	t.Logf("%d compactions, level 0 at most %d tables, tree %d bytes for %d bytes kept", q.compact.runs.Load(), maxL0, lsm, 384*size)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q = openQueue(t, dir, Options{})
	bs := mustRead(t, q, first-1, 1000, 1<<30)
	if len(bs) != 384 || bs[0].Seq != first {
		t.Fatalf("read %d blocks from %d, want 384 from %d", len(bs), bs[0].Seq, first)
	}
	for i, b := range bs {
		if want := rec(i, size).Data; !bytes.Equal(b.Data, want) {
			t.Fatalf("block %d (Seq %d) differs after compactions", i, b.Seq)
		}
	}
}

// waitCompacted waits until no level is due for compaction.
func waitCompacted(t *testing.T, q *Queue) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for q.compact.due() {
		if time.Now().After(deadline) {
			t.Fatalf("still due for compaction after 30s: %s", q.db.LevelsToString())
		}
		q.compact.wrote()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMovesFormerStateKeys opens a queue written in the former layout (its
// commit marker, acknowledged Seq and lane split under 'c') and checks it
// reads as before, with the keys moved to the end of the key space and the
// former ones gone.
func TestMovesFormerStateKeys(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	for i := range 10 {
		mustAppend(t, q, rec(i, 1000))
	}
	if err := q.AckThrough(3); err != nil {
		t.Fatal(err)
	}
	if _, err := q.StartLane(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, q, rec(10, 1000))
	want, wantBlocks := q.Stats(), seqs(mustRead(t, q, 0, 100, 1<<20))
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	// Write the state keys back where the former layout kept them.
	db, err := badger.Open(badgerOptions(dir, quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	had := map[string]bool{}
	err = db.Update(func(txn *badger.Txn) error {
		for _, k := range formerKeys {
			it, err := txn.Get(k.now)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue // no retained run
			}
			if err != nil {
				return fmt.Errorf("%s: %w", k.now, err)
			}
			had[string(k.now)] = true
			v, _ := it.ValueCopy(nil)
			if err := txn.Set(k.old, v); err != nil {
				return err
			}
			if err := txn.Delete(k.now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(had) < 3 {
		t.Fatalf("moved back only %v: want next, acked and split", had)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	q = openQueue(t, dir, Options{})
	if got := q.Stats(); got.Blocks != want.Blocks || got.Bytes != want.Bytes || got.Split != want.Split {
		t.Errorf("stats after the move %+v, before %+v", got, want)
	}
	if got := seqs(mustRead(t, q, 0, 100, 1<<20)); fmt.Sprint(got) != fmt.Sprint(wantBlocks) {
		t.Errorf("blocks after the move %v, before %v", got, wantBlocks)
	}
	if seq := mustAppend(t, q, rec(11, 1000)); seq != 12 {
		t.Errorf("next Seq after the move %d, want 12", seq)
	}
	err = q.db.View(func(txn *badger.Txn) error {
		for _, k := range formerKeys {
			if _, err := txn.Get(k.old); !errors.Is(err, badger.ErrKeyNotFound) {
				t.Errorf("former key %s still there (%v)", k.old, err)
			}
			if _, err := txn.Get(k.now); had[string(k.now)] && err != nil {
				t.Errorf("key %s: %v", k.now, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDue measures what every commit now pays to learn whether a
// compaction is due (compactor.wrote reads Badger's scores itself rather
// than waking the compaction goroutine), on a queue of 2000 blocks.
func BenchmarkDue(b *testing.B) {
	q := openQueue(b, b.TempDir(), Options{})
	for i := range 2000 {
		mustAppend(b, q, rec(i, 64<<10))
	}
	b.ReportAllocs()
	for b.Loop() {
		q.compact.due()
	}
}
