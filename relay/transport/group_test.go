package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
)

// groups is a GroupHandler that keeps the groups it was given; hold, when
// set, is waited for before each group is taken; failAt fails a block.
type groups struct {
	mu     sync.Mutex
	got    [][]uint64
	hold   chan struct{}
	failAt uint64
}

func (g *groups) handle(ctx context.Context, _ Peer, blocks []Block) ([]Ack, error) {
	if g.hold != nil {
		select {
		case <-g.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var seqs []uint64
	var acks []Ack
	for _, b := range blocks {
		if b.Seq == g.failAt {
			g.got = append(g.got, seqs)
			return acks, fmt.Errorf("block %d: disk full", b.Seq)
		}
		if string(b.Data) != fmt.Sprint(b.Seq) {
			return acks, fmt.Errorf("block %d carries %q", b.Seq, b.Data)
		}
		seqs = append(seqs, b.Seq)
		acks = append(acks, Ack{Refused: b.Seq})
	}
	g.got = append(g.got, seqs)
	return acks, nil
}

func (g *groups) taken() [][]uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]uint64(nil), g.got...)
}

// TestGroups: blocks that wait while the handler is busy reach it as one
// group, in order, and every block is answered once, in order, with what
// the handler answered for it.
func TestGroups(t *testing.T) {
	p := newPKI(t)
	g := &groups{hold: make(chan struct{})}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Group: g.handle})
	c, err := dialTest(t, s, p.client(t, false), func(cfg *ClientConfig) { cfg.Window = 64 })
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	send := func(n int) {
		for range n {
			seq++
			if err := c.Send(context.Background(), seq, []byte(fmt.Sprint(seq))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Each round: one block the handler holds, then more that arrive
	// meanwhile. Loopback delivers them well within the wait; a round whose
	// blocks did not all arrive in time only makes smaller groups, so a
	// few rounds with growing waits make the test independent of load.
	grouped := false
	for round := 0; round < 5 && !grouped; round++ {
		send(9)
		time.Sleep(time.Duration(50<<round) * time.Millisecond)
		// Let the handler take groups until the round's blocks are answered.
		for answered := 0; answered < 9; {
			select {
			case g.hold <- struct{}{}:
			case a, ok := <-c.Acks():
				if !ok || a.Err != nil || a.Refused != a.Seq || a.Seq != seq-8+uint64(answered) {
					t.Fatalf("answer %+v (open %v)", a, ok)
				}
				answered++
			case <-time.After(10 * time.Second):
				t.Fatal("no answer in 10s")
			}
		}
		for _, gr := range g.taken() {
			grouped = grouped || len(gr) > 1
		}
	}
	// Every block once, in order.
	var all []uint64
	for _, gr := range g.taken() {
		all = append(all, gr...)
	}
	for i, s := range all {
		if s != uint64(i+1) {
			t.Fatalf("blocks reached the handler as %v, want 1..%d in order", g.taken(), seq)
		}
	}
	if !grouped {
		t.Fatalf("groups %v: blocks waiting while the handler was busy never came as one group", g.taken())
	}
	acked := metrictest.Value(t, s.reg, "edgerelay_transport_received_blocks_total")
	if acked != float64(seq) {
		t.Errorf("received blocks = %v, want %d", acked, seq)
	}
	if n := metrictest.Value(t, s.reg, "edgerelay_transport_received_block_groups_total"); n != float64(len(g.taken())) || n >= float64(seq) {
		t.Errorf("groups counted %v, handler took %d groups of %d blocks", n, len(g.taken()), seq)
	}
}

// TestGroupFailure: a handler failing a block of a group has the blocks
// before it acknowledged, the block itself NACKed, and nothing after it
// answered; the connection closes.
func TestGroupFailure(t *testing.T) {
	p := newPKI(t)
	g := &groups{hold: make(chan struct{}), failAt: 4}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Group: g.handle})
	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 8; seq++ {
		if err := c.Send(context.Background(), seq, []byte(fmt.Sprint(seq))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let them arrive: then 2..8 is one group, or not; the answers are the same
	close(g.hold)
	var acks []Ack
	for a := range c.Acks() {
		acks = append(acks, a)
	}
	if len(acks) != 4 {
		t.Fatalf("answers %+v, want ack 1-3, nack 4", acks)
	}
	for i, a := range acks[:3] {
		if a.Seq != uint64(i+1) || a.Err != nil || a.Refused != a.Seq {
			t.Fatalf("answer %d = %+v", i, a)
		}
	}
	var nack *NackError
	if !errors.As(acks[3].Err, &nack) || nack.Seq != 4 {
		t.Fatalf("fourth answer = %+v, want NACK 4", acks[3])
	}
	s.waitMetric(t, "edgerelay_transport_nacks_total", 1)
}
