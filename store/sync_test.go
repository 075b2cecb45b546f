package store

import "testing"

// TestWhatIsSynced checks which writes the queue syncs: every transaction
// of an append (one for a small call, one per transaction for a call
// beyond Badger's transaction limit), a cursor, a lane split and the cap's
// deletions; acknowledgements are written unsynced. With SyncByCaller
// nothing is synced.
func TestWhatIsSynced(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 600 << 10})
	step := func(what string, want int64, f func() error) {
		t.Helper()
		before := q.syncs.Load()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := q.syncs.Load() - before; got != want {
			t.Fatalf("%s: %d syncs, want %d", what, got, want)
		}
	}
	step("small append", 1, func() error { _, err := q.Append(rec(1, 1000), rec(2, 1000)); return err })
	step("append over one transaction", 2, func() error {
		_, err := q.Append(rec(3, 200<<10), rec(4, 200<<10))
		return err
	})
	step("ack", 0, func() error { return q.AckThrough(2) })
	step("ack range", 0, func() error { return q.AckRange(3, 3) })
	step("cursor", 1, func() error { return q.SaveCursor("c", Cursor{Acked: 1}) })
	// Block 4 and two more fill the 600 KiB cap; the next drops the oldest.
	for i := range 2 {
		step("append", 1, func() error { _, err := q.Append(rec(5+i, 200<<10)); return err })
	}
	step("append dropping the oldest", 2, func() error { _, err := q.Append(rec(7, 200<<10)); return err })
	if q.Stats().DroppedBlocks == 0 {
		t.Fatal("the last append dropped nothing")
	}

	byCaller := openQueue(t, t.TempDir(), Options{SyncByCaller: true})
	if _, err := byCaller.Append(rec(1, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := byCaller.AckThrough(1); err != nil {
		t.Fatal(err)
	}
	if n := byCaller.syncs.Load(); n != 0 {
		t.Fatalf("SyncByCaller: %d syncs, want 0", n)
	}
}
