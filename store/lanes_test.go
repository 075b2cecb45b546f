package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func lanes(bs []Block) string {
	var b bytes.Buffer
	for _, x := range bs {
		fmt.Fprintf(&b, "%d:%d ", x.Seq, x.Lane)
	}
	return b.String()
}

// TestLanes: a split puts what is stored in the backlog lane and what is
// appended later in the live lane; live blocks acknowledged first are
// deleted while the backlog stays, across a reopen; the next split waits
// until the backlog lane is empty and numbers its lane the other way.
func TestLanes(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	mustAppend(t, q, rec(0, 100), rec(1, 100), rec(2, 100)) // seq 1..3
	if got := lanes(mustRead(t, q, 0, 0, 0)); got != "1:0 2:0 3:0 " {
		t.Fatalf("before any split: %s", got)
	}
	sp, err := q.StartLane()
	if err != nil || sp != (Split{Seq: 4, Lane: 1}) {
		t.Fatalf("StartLane = %+v, %v", sp, err)
	}
	mustAppend(t, q, rec(3, 100), rec(4, 100), rec(5, 100)) // seq 4..6
	if got := lanes(mustRead(t, q, 0, 0, 0)); got != "1:0 2:0 3:0 4:1 5:1 6:1 " {
		t.Fatalf("after the split: %s", got)
	}
	if !q.Stats().Backlog {
		t.Fatal("Backlog() = false with blocks 1..3 before the split")
	}
	if _, err := q.StartLane(); !errors.Is(err, ErrBacklog) {
		t.Fatalf("second StartLane with a backlog: %v, want ErrBacklog", err)
	}
	// The live lane is acknowledged ahead of the backlog.
	q.Sending(4)
	if err := q.AckRange(4, 5); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(seqs(mustRead(t, q, 0, 0, 0))); got != "[1 2 3 6]" {
		t.Fatalf("after acking 4..5: %s", got)
	}
	if st := q.Stats(); st.Blocks != 4 || st.Samples != 1+2+3+6 || st.HeadSeq != 1 {
		t.Fatalf("stats after AckRange: %+v", st)
	}

	q.Close()
	q = openQueue(t, dir, Options{})
	if got := lanes(mustRead(t, q, 0, 0, 0)); got != "1:0 2:0 3:0 6:1 " {
		t.Fatalf("after reopen: %s", got)
	}
	if st := q.Stats(); st.Blocks != 4 || st.Bytes != 400 || st.HeadSeq != 1 {
		t.Fatalf("stats after reopen: %+v", st)
	}
	if err := q.AckThrough(3); err != nil {
		t.Fatal(err)
	}
	if q.Stats().Backlog {
		t.Fatal("Backlog() = true after the backlog lane was acknowledged")
	}
	sp, err = q.StartLane()
	if err != nil || sp != (Split{Seq: 7, Lane: 0}) {
		t.Fatalf("StartLane after the drain = %+v, %v", sp, err)
	}
	mustAppend(t, q, rec(6, 100))
	if got := lanes(mustRead(t, q, 0, 0, 0)); got != "6:1 7:0 " {
		t.Fatalf("after the second split: %s", got)
	}
	// A bundle carries the lanes.
	var buf bytes.Buffer
	if _, err := q.Export(&buf, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	_, bs, err := readAll(buf.Bytes())
	if err != nil || lanes(bs) != "6:1 7:0 " {
		t.Fatalf("bundle lanes %s, %v", lanes(bs), err)
	}
	// Everything acknowledged, live lane first: the queue is empty.
	if err := q.AckRange(7, 7); err != nil {
		t.Fatal(err)
	}
	if err := q.AckThrough(6); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Blocks != 0 || st.HeadSeq != 0 || st.Bytes != 0 {
		t.Fatalf("stats when empty: %+v", st)
	}
}

// TestCapDropWithLanes: a cap drop of a backlog block in flight is held
// until the sender releases it, while a live block acknowledged out of
// order never counts.
func TestCapDropWithLanes(t *testing.T) {
	var drops []Dropped
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 4000, OnDrop: func(d Dropped) { drops = append(drops, d) }})
	mustAppend(t, q, rec(0, 1000), rec(1, 1000)) // backlog 1..2
	if _, err := q.StartLane(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, q, rec(2, 1000), rec(3, 1000)) // live 3..4
	q.Sending(1)
	q.Sending(3)
	if err := q.AckRange(3, 3); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, q, rec(4, 1000), rec(5, 1000), rec(6, 1000)) // 5..7: the cap drops 1 and 2
	if got := fmt.Sprint(seqs(mustRead(t, q, 0, 0, 0))); got != "[4 5 6 7]" {
		t.Fatalf("left %s", got)
	}
	if fmt.Sprint(drops) != fmt.Sprint([]Dropped{{1, 1000, 2, 2, 2}}) {
		t.Fatalf("OnDrop %v, want 2 at once (1 is in flight)", drops)
	}
	q.Release()
	if st := q.Stats(); st.DroppedBlocks != 2 || st.DroppedSamples != 1+2 {
		t.Fatalf("stats after release %+v", st)
	}
}
