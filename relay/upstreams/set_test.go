package upstreams

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/store"
)

func openQueue(t *testing.T, dir string) *store.Queue {
	t.Helper()
	q, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// appendGroup appends n blocks of size bytes in group g and returns their
// Seqs.
func appendGroup(t *testing.T, q *store.Queue, g uint64, n, size int) []uint64 {
	t.Helper()
	var seqs []uint64
	for range n {
		s, err := q.Append(store.Record{Data: bytes.Repeat([]byte{byte(g)}, size), Samples: 10, Group: g})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s)
	}
	return seqs
}

func seqsOf(bs []store.Block) []uint64 {
	var out []uint64
	for _, b := range bs {
		out = append(out, b.Seq)
	}
	return out
}

func TestReplicateKeepsBlocksUntilEveryUpstreamHasThem(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir)
	s, err := New(q, []Upstream{{Name: "a"}, {Name: "b"}}, false, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendGroup(t, q, 1, 10, 100)
	a, b := s.Views()[0], s.Views()[1]
	if err := a.AckThrough(10); err != nil {
		t.Fatal(err)
	}
	if n := q.Stats().Blocks; n != 10 {
		t.Fatalf("after a took all: %d blocks queued, want 10 (b has none)", n)
	}
	if err := b.AckThrough(4); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Blocks != 6 || st.HeadSeq != 5 {
		t.Fatalf("after b took 4: %d blocks from %d, want 6 from 5", st.Blocks, st.HeadSeq)
	}
	if got, _ := a.Read(0, 0, 0); len(got) != 0 {
		t.Fatalf("a reads %v after acknowledging everything", seqsOf(got))
	}
	// Blocks kept for b do not wake a: its sender would spin.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := a.Wait(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a.Wait with only blocks a has queued: %v, want the context's deadline", err)
	}
	cancel()
	// Backlogs, read from either side of each cursor.
	c := &View{s: s, up: Upstream{Name: "c"}, inflight: map[uint64]struct{}{}}
	for _, tc := range []struct {
		v     *View
		acked uint64
		want  int64
	}{{a, 10, 0}, {b, 4, 600}, {c, 6, 400}, {c, 9, 100}} {
		if tc.v == c {
			c.cur.Acked = tc.acked
		}
		if got, err := tc.v.Backlog(); err != nil || got != tc.want {
			t.Errorf("%s through %d: backlog %d bytes (%v), want %d", tc.v.Name(), tc.acked, got, err, tc.want)
		}
	}
	q.Close()

	// The cursors survive a restart.
	q = openQueue(t, dir)
	defer q.Close()
	s, err = New(q, []Upstream{{Name: "a"}, {Name: "b"}}, false, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b = s.Views()[0], s.Views()[1]
	if a.Acked() != 10 || b.Acked() != 4 {
		t.Fatalf("after reopening: a through %d, b through %d; want 10 and 4", a.Acked(), b.Acked())
	}
	got, err := b.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || got[0].Seq != 5 {
		t.Fatalf("b reads %v after reopening, want 5..10", seqsOf(got))
	}
}

func TestBacklogCapDropsWholeGenerationsForOneUpstream(t *testing.T) {
	q := openQueue(t, t.TempDir())
	defer q.Close()
	m := NewMetrics(nil)
	drops := 0
	s, err := New(q, []Upstream{{Name: "a"}, {Name: "b", MaxBacklogBytes: 5000}}, false, func() { drops++ }, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Views()[0], s.Views()[1]
	g1 := appendGroup(t, q, 1, 4, 1000)
	appendGroup(t, q, 2, 4, 1000)
	if err := a.AckThrough(8); err != nil {
		t.Fatal(err)
	}
	dropped, err := b.enforceCap()
	if err != nil || !dropped {
		t.Fatalf("enforceCap: dropped %v, err %v; want a drop (8000 bytes over a 5000 cap)", dropped, err)
	}
	// 3000 bytes had to go: three blocks of generation 1, and so its fourth.
	if c := b.cursor(); c.Acked != g1[3] || c.Skip != 1 {
		t.Fatalf("b's cursor %+v, want through %d skipping group 1", c, g1[3])
	}
	if st := q.Stats(); st.Blocks != 4 {
		t.Fatalf("%d blocks queued after the drop, want generation 2's 4", st.Blocks)
	}
	// A late block of generation 1 (appended before the edge started a
	// new one) is not sent to b: its base is gone there.
	late := appendGroup(t, q, 1, 1, 10)
	g3 := appendGroup(t, q, 3, 1, 10)
	got, err := b.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range got {
		if blk.Group == 1 {
			t.Fatalf("b was handed block %d of the dropped generation 1", blk.Seq)
		}
	}
	if len(got) != 5 || got[4].Seq != g3[0] {
		t.Fatalf("b reads %v, want generation 2 and %d", seqsOf(got), g3[0])
	}
	if got, _ := a.Read(8, 0, 0); len(got) != 2 || got[0].Seq != late[0] {
		t.Fatalf("a reads %v, want the late block %d and %d", seqsOf(got), late[0], g3[0])
	}
	if v := counter(t, m.droppedBlocks.WithLabelValues("b", reasonBacklog)); v != 4 {
		t.Errorf("dropped for b by the cap: %v blocks, want 4", v)
	}
	if v := counter(t, m.droppedBlocks.WithLabelValues("b", reasonGeneration)); v != 1 {
		t.Errorf("dropped for b as a later block of the cut generation: %v, want 1", v)
	}
	if v := counter(t, m.droppedBlocks.WithLabelValues("a", reasonBacklog)); v != 0 {
		t.Errorf("dropped for a: %v, want 0", v)
	}
	if _, err := b.enforceCap(); err != nil {
		t.Fatal(err)
	}
	_ = drops // the runner calls onDrop (TestRunner...)
}

func TestFailoverKeepsTheAcknowledgedGeneration(t *testing.T) {
	q := openQueue(t, t.TempDir())
	defer q.Close()
	s, err := New(q, []Upstream{{Name: "a"}, {Name: "b"}}, true, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Views()[0], s.Views()[1]
	appendGroup(t, q, 1, 3, 100)
	g2 := appendGroup(t, q, 2, 4, 100)
	// a took generation 1 and half of 2, then stopped.
	if err := a.AckThrough(g2[1]); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.HeadSeq != g2[0] {
		t.Fatalf("queue head %d, want %d: generation 2's acknowledged blocks stay for a failover", st.HeadSeq, g2[0])
	}
	got, err := b.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].Seq != g2[0] {
		t.Fatalf("b takes over with %v, want generation 2 from its first block %d", seqsOf(got), g2[0])
	}
	// b acknowledges through the end: a's position no longer holds the queue.
	if err := b.AckThrough(g2[3]); err != nil {
		t.Fatal(err)
	}
	appendGroup(t, q, 3, 1, 100)
	if st := q.Stats(); st.HeadSeq != g2[0] {
		t.Fatalf("queue head %d, want %d (generation 2 is b's newest acknowledged)", st.HeadSeq, g2[0])
	}
	if err := b.AckThrough(g2[3] + 1); err != nil {
		t.Fatal(err)
	}
	if st := q.Stats(); st.Blocks != 1 {
		t.Fatalf("%d blocks queued, want generation 3's one", st.Blocks)
	}
	// a, behind the head, resumes at generation 3's start: no frame
	// without its base.
	if got, _ := a.Read(0, 0, 0); len(got) != 1 || got[0].Group != 3 {
		t.Fatalf("a reads %v, want generation 3's block", seqsOf(got))
	}
}
