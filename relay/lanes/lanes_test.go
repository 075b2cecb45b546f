package lanes

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
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
	t.Cleanup(func() { q.Close() })
	return q
}

func appendN(t *testing.T, q *store.Queue, n int) {
	t.Helper()
	for range n {
		if _, err := q.Append(store.Record{Data: make([]byte, 100), Samples: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

// drain takes n blocks from snd, acknowledging each at once as the cloud
// would, and returns them as "seq:lane".
func drain(t *testing.T, l *Lanes, snd *Sender, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for range n {
		b, err := snd.Next(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, fmt.Sprintf("%d:%d", b.Seq, b.Lane))
		var through [2]uint64
		through[b.Lane] = b.Seq
		if err := l.Ack(through); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// TestSplitAndDrain: a connection to a cloud that takes lanes finds a
// backlog of more than a window and asks for a split; the appender's next
// Start makes it (once); then the backlog and the live lane go side by
// side, each in order, the backlog getting a quarter of the bytes, and each
// lane is acknowledged on its own until the queue is empty. A queue
// reopened mid-way goes on in both lanes without a new split.
func TestSplitAndDrain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	q := openQueue(t, dir)
	appendN(t, q, 30) // the backlog, 1..30
	var reported []int
	cfg := Config{ReplayShare: 0.25, Window: 4, MaxBatchBytes: 1 << 20, Report: func(n int) { reported = append(reported, n) }}
	l := New(q, cfg)
	if l.Start() {
		t.Fatal("a lane started before any connection asked")
	}
	snd := l.Connect(true)
	if !snd.Lanes() {
		t.Fatal("a cloud taking lanes gets blocks without their lane")
	}
	if !l.Start() || l.Start() {
		t.Fatal("the split asked for was not made exactly once")
	}
	appendN(t, q, 30) // the live lane, 31..60
	got := drain(t, l, snd, 20)
	want := []string{
		"1:0", "31:1", "32:1", "33:1", "2:0", "34:1", "35:1", "36:1", "3:0", "37:1",
		"38:1", "39:1", "4:0", "40:1", "41:1", "42:1", "5:0", "43:1", "44:1", "45:1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first blocks %v\nwant %v", got, want)
	}
	if !l.Beside() {
		t.Fatal("Beside() = false while both lanes are sent")
	}
	if st := q.Stats(); st.Blocks != 40 || st.HeadSeq != 6 {
		t.Fatalf("queue after 5 backlog and 15 live blocks acknowledged: %+v", st)
	}
	snd.Close()
	q.Close()

	q = openQueue(t, dir)
	l = New(q, cfg)
	snd = l.Connect(true)
	if !l.Beside() || l.Start() {
		t.Fatalf("after a restart: beside %v; a new split was made", l.Beside())
	}
	got = drain(t, l, snd, 40)
	var last [2]uint64
	for _, g := range got {
		var seq uint64
		var lane uint8
		fmt.Sscanf(g, "%d:%d", &seq, &lane)
		if (seq <= 30) != (lane == 0) || seq <= last[lane] {
			t.Fatalf("after a restart: %s out of place in %v", g, got)
		}
		last[lane] = seq
	}
	// The next call finds the backlog through, and waits for new blocks.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := snd.Next(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Next on an empty queue: %v", err)
	}
	if last != [2]uint64{30, 60} || l.Beside() {
		t.Fatalf("after a restart: lanes end at %v, beside %v", last, l.Beside())
	}
	if st := q.Stats(); st.Blocks != 0 {
		t.Fatalf("queue after the drain: %+v", st)
	}
	if fmt.Sprint(reported) != "[1 2 0 2 1]" {
		t.Fatalf("lanes reported %v, want 1 until the split, 2 while both go, 0 when closed, 2 again, 1 after the backlog", reported)
	}
}

// TestNoSplit: no split is asked for with a backlog within a window, with
// a cloud that does not take lanes, or with replay_share 1; the queue then
// goes in sequence order, a lane split earlier included.
func TestNoSplit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		blocks  int
		share   float64
		takes   bool
		asLanes bool
	}{
		{"backlog within a window", 4, 0.5, true, true},
		{"cloud without lanes", 30, 0.5, false, false},
		{"replay_share 1", 30, 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := openQueue(t, t.TempDir())
			appendN(t, q, tc.blocks)
			l := New(q, Config{ReplayShare: tc.share, Window: 4, MaxBatchBytes: 1 << 20})
			snd := l.Connect(tc.takes)
			if snd.Lanes() != tc.asLanes || l.Start() {
				t.Fatalf("lanes %v (want %v), or a split was made", snd.Lanes(), tc.asLanes)
			}
			got := drain(t, l, snd, tc.blocks)
			if got[0] != "1:0" || got[len(got)-1] != fmt.Sprintf("%d:0", tc.blocks) || q.Stats().Blocks != 0 {
				t.Fatalf("sent %v; queue %+v", got, q.Stats())
			}
		})
	}
}

// TestDropHeld: blocks the cloud says it holds leave the queue without
// being handed out, in either lane; the oldest lane's acknowledgement moves
// past those at its head.
func TestDropHeld(t *testing.T) {
	q := openQueue(t, t.TempDir())
	appendN(t, q, 10)
	l := New(q, Config{ReplayShare: 0.5, Window: 2, MaxBatchBytes: 1 << 20})
	l.Connect(true).Close()
	if !l.Start() {
		t.Fatal("no split")
	}
	appendN(t, q, 10) // live 11..20
	n, err := l.DropHeld([]Span{{1, 4}, {11, 12}, {40, 50}})
	if err != nil || n != 6 {
		t.Fatalf("DropHeld = %d, %v; want 6 blocks", n, err)
	}
	if l.Acked() != 4 {
		t.Fatalf("Acked() = %d, want 4", l.Acked())
	}
	got := drain(t, l, l.Connect(true), 14)
	if got[0] != "5:0" || got[1] != "13:1" {
		t.Fatalf("after the held blocks: %v", got)
	}
}
