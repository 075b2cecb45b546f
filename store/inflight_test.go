package store

import (
	"fmt"
	"testing"
)

// TestCapDropInFlight: the cap deletes blocks a sender holds oldest first
// as always, but counts them only if the sender releases them without an
// acknowledgement; acknowledged ones reached the receiver and are not
// counted as dropped.
func TestCapDropInFlight(t *testing.T) {
	var drops []Dropped
	q := openQueue(t, t.TempDir(), Options{
		MaxBytes: 3000,
		OnDrop:   func(d Dropped) { drops = append(drops, d) },
	})
	for i := range 3 {
		mustAppend(t, q, rec(i, 1000)) // seq 1..3, samples 1..3
	}
	// A sender takes 1 and 2; the cap then deletes 1 and 2 (in flight) and 3.
	q.Sending(1)
	q.Sending(2)
	mustAppend(t, q, rec(3, 1000), rec(4, 1000), rec(5, 1000)) // seq 4..6
	if fmt.Sprint(drops) != fmt.Sprint([]Dropped{{1, 1000, 3, 3, 3}}) {
		t.Fatalf("OnDrop calls %v, want only seq 3 (1 and 2 are in flight)", drops)
	}
	if st := q.Stats(); st.DroppedBlocks != 1 || st.DroppedSamples != 3 || st.Bytes != 3000 || st.HeadSeq != 4 {
		t.Fatalf("stats %+v", st)
	}
	// The receiver acknowledges 1; then the sender stops: 2 was lost.
	if err := q.AckThrough(1); err != nil {
		t.Fatal(err)
	}
	q.Release()
	if fmt.Sprint(drops[1:]) != fmt.Sprint([]Dropped{{1, 1000, 2, 2, 2}}) {
		t.Fatalf("OnDrop calls after Release %v, want seq 2", drops)
	}
	if st := q.Stats(); st.DroppedBlocks != 2 || st.DroppedSamples != 2+3 {
		t.Fatalf("stats %+v", st)
	}
	// Released: the next drop of the head counts at once.
	mustAppend(t, q, rec(6, 1000))
	if st := q.Stats(); st.DroppedBlocks != 3 || st.DroppedSamples != 2+3+4 || st.HeadSeq != 5 {
		t.Fatalf("stats %+v", st)
	}
	if got := fmt.Sprint(seqs(mustRead(t, q, 0, 0, 0))); got != "[5 6 7]" {
		t.Fatalf("left %v", got)
	}
}

// TestCapDropsWholeGroup: once the cap deletes a block, the rest of its
// group goes with it, so no group is left without its head; blocks of other
// groups and ungrouped blocks are deleted one by one.
func TestCapDropsWholeGroup(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 6000})
	for i, g := range []uint64{7, 7, 7, 8, 8, 0} {
		r := rec(i, 1000)
		r.Group = g
		mustAppend(t, q, r) // seq 1..6
	}
	// Room for one more block: the cap needs one block but takes group 7.
	mustAppend(t, q, rec(6, 1000))
	bs := mustRead(t, q, 0, 0, 0)
	if got := fmt.Sprint(seqs(bs)); got != "[4 5 6 7]" {
		t.Fatalf("left %v, want group 7 (seq 1..3) dropped whole", got)
	}
	if bs[0].Group != 8 || bs[2].Group != 0 {
		t.Fatalf("groups read back: %d, %d", bs[0].Group, bs[2].Group)
	}
	if st := q.Stats(); st.DroppedBlocks != 3 || st.DroppedSamples != 1+2+3 {
		t.Fatalf("stats %+v", st)
	}
}
