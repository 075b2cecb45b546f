package store

import (
	"slices"
	"strconv"
	"testing"
)

func grec(i int, group uint64) Record {
	r := rec(i, 100)
	r.Group = group
	return r
}

func retainedSeqs(t *testing.T, q *Queue) []uint64 {
	t.Helper()
	bs, err := q.ReadRetained(0, 0, 0)
	if err != nil {
		t.Fatalf("ReadRetained: %v", err)
	}
	return seqs(bs)
}

// TestRetainGroup checks that AckThrough keeps the acknowledged blocks of
// the newest acknowledged group aside, out of the backlog, across a
// reopen, and deletes them once another group is acknowledged.
func TestRetainGroup(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{RetainBytes: 1 << 20})
	// Seqs 1-2 group 7, 3-5 group 8, 6 ungrouped, 7-8 group 9.
	mustAppend(t, q, grec(1, 7), grec(2, 7), grec(3, 8), grec(4, 8), grec(5, 8), rec(6, 100), grec(7, 9), grec(8, 9))
	if err := q.AckThrough(4); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("retained %v after ack through 4, want [3 4]", got)
	}
	st := q.Stats()
	if st.Blocks != 4 || st.RetainedBlocks != 2 || st.RetainedBytes != 200 || st.RetainedGroup != 8 {
		t.Fatalf("stats %+v: want 4 queued, 2 retained (200 bytes) of group 8", st)
	}
	if got := seqs(mustRead(t, q, 0, 0, 0)); !slices.Equal(got, []uint64{5, 6, 7, 8}) {
		t.Fatalf("Read returns %v, want the unacknowledged 5-8 only", got)
	}
	if err := q.AckThrough(5); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q = openQueue(t, dir, Options{RetainBytes: 1 << 20})
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{3, 4, 5}) {
		t.Fatalf("retained %v after reopen, want [3 4 5]", got)
	}
	if st := q.Stats(); st.RetainedBlocks != 3 || st.Blocks != 3 {
		t.Fatalf("stats after reopen %+v", st)
	}
	// An ungrouped block ends the run; then group 9 starts another.
	if err := q.AckThrough(6); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); len(got) != 0 {
		t.Fatalf("retained %v after an ungrouped block, want none", got)
	}
	if err := q.AckThrough(8); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{7, 8}) {
		t.Fatalf("retained %v, want [7 8]", got)
	}
	// Nothing of the older groups is left in the store.
	n := 0
	for seq := uint64(1); seq <= 6; seq++ {
		bs, err := q.readRange(seq, seq+1, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		n += len(bs)
	}
	if n != 0 {
		t.Fatalf("%d blocks of older groups still stored", n)
	}
}

// TestRetainBound checks that a run past RetainBytes is deleted, counted,
// and its group not kept again, while the next group is.
func TestRetainBound(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{RetainBytes: 250})
	mustAppend(t, q, grec(1, 7), grec(2, 7), grec(3, 7), grec(4, 7), grec(5, 8))
	if err := q.AckThrough(2); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("retained %v, want [1 2]", got)
	}
	if err := q.AckThrough(3); err != nil {
		t.Fatal(err)
	}
	st := q.Stats()
	if got := retainedSeqs(t, q); len(got) != 0 || st.RetainedDropped != 3 {
		t.Fatalf("retained %v, dropped %d: want none kept and 3 dropped past 250 bytes", got, st.RetainedDropped)
	}
	if err := q.AckThrough(4); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); len(got) != 0 {
		t.Fatalf("retained %v of a group the bound ended", got)
	}
	if err := q.AckThrough(5); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{5}) {
		t.Fatalf("retained %v, want [5] of the next group", got)
	}
}

// TestRetainAckRange checks that acknowledging a live lane's blocks keeps
// them once no older block is stored (the backlog drained), and keeps
// nothing of a range acknowledged while older blocks wait.
func TestRetainAckRange(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{RetainBytes: 1 << 20})
	mustAppend(t, q, grec(1, 7), grec(2, 7), grec(3, 8), grec(4, 8), grec(5, 8))
	if err := q.AckRange(3, 4); err != nil { // block 1 and 2 still wait
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); len(got) != 0 {
		t.Fatalf("retained %v of a range acknowledged beside a backlog", got)
	}
	if err := q.AckThrough(2); err != nil {
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("retained %v, want [1 2]", got)
	}
	if err := q.AckRange(5, 5); err != nil { // now at the head
		t.Fatal(err)
	}
	if got := retainedSeqs(t, q); !slices.Equal(got, []uint64{5}) {
		t.Fatalf("retained %v, want [5] (3 and 4 are gone)", got)
	}
	if st := q.Stats(); st.Blocks != 0 || st.RetainedBlocks != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// BenchmarkAckRetained acknowledges one block at a time, each of one delta
// generation, after a retained run of the given length: the cost of an
// acknowledgement should not grow with the run.
func BenchmarkAckRetained(b *testing.B) {
	for _, run := range []int{10, 1000} {
		b.Run("run="+strconv.Itoa(run), func(b *testing.B) {
			q := openQueue(b, b.TempDir(), Options{RetainBytes: 1 << 40})
			recs := make([]Record, run+b.N)
			for i := range recs {
				recs[i] = grec(i, 1)
			}
			mustAppend(b, q, recs...)
			if err := q.AckThrough(uint64(run)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := q.AckThrough(uint64(run + i + 1)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if st := q.Stats(); st.RetainedBlocks != run+b.N {
				b.Fatalf("retained %d blocks, want %d", st.RetainedBlocks, run+b.N)
			}
		})
	}
}
