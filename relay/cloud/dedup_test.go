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
