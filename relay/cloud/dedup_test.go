package cloud

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestAddSeqMergesRanges(t *testing.T) {
	for _, tc := range []struct {
		seqs []uint64
		want string
	}{
		{[]uint64{1, 2, 3}, "[{1 3}]"},
		{[]uint64{5, 1, 3, 2, 4}, "[{1 5}]"},
		{[]uint64{10, 1, 2}, "[{1 2} {10 10}]"},
		{[]uint64{1, 2, 10, 11, 5, 3, 4, 9, 6, 8, 7}, "[{1 11}]"},
		{[]uint64{3, 3, 3}, "[{3 3}]"},
	} {
		var s []span
		for _, q := range tc.seqs {
			s = addSeq(s, q)
		}
		if got := fmt.Sprint(s); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.seqs, got, tc.want)
		}
	}
}

func TestWatermarksPersistAndDistinguishQueues(t *testing.T) {
	dir := t.TempDir()
	w, _ := newWatermarks(dir)
	rng := rand.New(rand.NewPCG(1, 2))
	handled := map[uint64]bool{}
	for i := 0; i < 200; i++ {
		seq := uint64(rng.IntN(300) + 1)
		handled[seq] = true
		if err := w.advance("acme", "plant/7", 42, seq); err != nil {
			t.Fatal(err)
		}
	}
	w2, _ := newWatermarks(dir) // as after a restart
	for seq := uint64(1); seq <= 301; seq++ {
		got, err := w2.seen("acme", "plant/7", 42, seq)
		if err != nil {
			t.Fatal(err)
		}
		if got != handled[seq] {
			t.Fatalf("seq %d: seen=%v, handled=%v", seq, got, handled[seq])
		}
		if other, _ := w2.seen("acme", "plant/7", 43, seq); other {
			t.Fatalf("seq %d seen for another queue id", seq)
		}
		if other, _ := w2.seen("other", "plant/7", 42, seq); other {
			t.Fatalf("seq %d seen for another tenant", seq)
		}
	}
}

// TestWatermarksBoundQueuesPerSite: a site keeps at most maxQueues queue
// ids; a block of one more forgets the least recently used one (a queue
// seen again counts as used), reported through evicted; the order survives
// a restart; other sites and known queues evict nothing; a lowered limit
// evicts down to it.
func TestWatermarksBoundQueuesPerSite(t *testing.T) {
	dir := t.TempDir()
	var got []string
	open := func(max int) *watermarks {
		w, err := newWatermarks(dir)
		if err != nil {
			t.Fatal(err)
		}
		w.maxQueues = func(tenant string) int { return max }
		w.evicted = func(tenant, site string, queue uint64) {
			got = append(got, fmt.Sprintf("%s/%s/%d", tenant, site, queue))
		}
		return w
	}
	advance := func(w *watermarks, site string, q, seq uint64) {
		t.Helper()
		if err := w.advance("acme", site, q, seq); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(w *watermarks, site string, q, seq uint64) bool {
		t.Helper()
		ok, err := w.seen("acme", site, q, seq)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	w := open(3)
	for q := uint64(1); q <= 3; q++ {
		advance(w, "a", q, 7)
		advance(w, "b", q, 7)
	}
	advance(w, "a", 2, 8) // a known queue at the limit evicts nothing
	if len(got) != 0 {
		t.Fatalf("evicted %v with 3 queue ids per site, limit 3", got)
	}
	if !seen(w, "a", 1, 7) { // queue 1 used again: queue 3 is now the oldest
		t.Fatal("queue 1 block 7 not seen")
	}
	advance(w, "a", 4, 1)
	if fmt.Sprint(got) != "[acme/a/3]" {
		t.Fatalf("evicted %v, want [acme/a/3], the least recently used", got)
	}
	if seen(w, "a", 3, 7) {
		t.Error("queue 3's watermark kept after it was evicted")
	}
	for _, q := range []uint64{1, 2} {
		if !seen(w, "a", q, 7) {
			t.Errorf("queue %d's block 7 forgotten", q)
		}
	}
	if !seen(w, "b", 3, 7) {
		t.Error("site b's queue 3 forgotten with site a's")
	}

	// After a restart the order is the one written with the last block:
	// 2 (block 8), 1 (seen), 4 — uses since that block are not written.
	got = nil
	w = open(3)
	advance(w, "a", 4, 2)
	advance(w, "a", 5, 1)
	if fmt.Sprint(got) != "[acme/a/2]" {
		t.Fatalf("after a restart evicted %v, want [acme/a/2]", got)
	}
	// A lowered limit evicts down to it on the next new queue.
	got = nil
	w = open(2)
	advance(w, "a", 6, 1)
	if fmt.Sprint(got) != "[acme/a/1 acme/a/4]" {
		t.Fatalf("limit lowered to 2: evicted %v, want [acme/a/1 acme/a/4]", got)
	}
	for q, want := range map[uint64]bool{1: false, 4: false, 5: true, 6: true} {
		seq := uint64(1)
		if q == 1 {
			seq = 7
		}
		if s := seen(w, "a", q, seq); s != want {
			t.Errorf("queue %d block 1 seen=%v, want %v", q, s, want)
		}
	}
}
