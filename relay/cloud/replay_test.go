package cloud

import (
	"context"
	"errors"
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// TestBaseReplay: a cloud lacking the delta bases of an edge's generation
// (the cloud holding them died) fails the first block needing one with a
// NeedBaseError while the edge can resend them, writing nothing; the
// acknowledged blocks sent again as BASE rebuild the bases without being
// written, a repeat among them is skipped, and the failed block then
// decodes and is written once. After REPLAYED, a frame still without its
// base is lost as before version 6: counted, acknowledged with resync.
func TestBaseReplay(t *testing.T) {
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7, Version: 6}
	edge := &deltaEdge{enc: delta.NewEncoder(5)}
	blocks := [][]byte{edge.block(), edge.block(), edge.block(), edge.block()}

	dead := testReceiver(t) // took blocks 1 and 2, then died
	for seq := uint64(1); seq <= 2; seq++ {
		if _, err := dead.handle(ctx, peer, seq, 0, blocks[seq-1]); err != nil {
			t.Fatal(err)
		}
	}

	c := testReceiver(t)
	_, err := c.handle(ctx, peer, 3, 0, blocks[2])
	var nb *transport.NeedBaseError
	if !errors.As(err, &nb) || written(t, c) != 0 {
		t.Fatalf("block 3 without its base: %v, %d scrapes written; want a NeedBaseError and nothing written", err, written(t, c))
	}
	if seen, _ := c.marks.seen("acme", "s1", 7, 3); seen {
		t.Fatal("a block failed for its base was marked as handled")
	}
	for seq := uint64(1); seq <= 2; seq++ {
		if _, err := c.base(ctx, peer, seq, 0, blocks[seq-1]); err != nil {
			t.Fatalf("base %d: %v", seq, err)
		}
	}
	if _, err := c.base(ctx, peer, 2, 0, blocks[1]); err != nil {
		t.Fatal(err)
	}
	if written(t, c) != 0 || frames(c, "base") != 2 || frames(c, "repeat") != 1 {
		t.Fatalf("bases: %d scrapes written, base frames %v, repeats %v; want 0, 2, 1", written(t, c), frames(c, "base"), frames(c, "repeat"))
	}
	if seen, _ := c.marks.seen("acme", "s1", 7, 2); !seen {
		t.Fatal("a block resent as a base is not marked as handled: a later resend would write it")
	}
	a, err := c.handle(ctx, peer, 3, 0, blocks[2])
	if err != nil || a.Resync || frames(c, "applied") != 1 || written(t, c) != 1 {
		t.Fatalf("block 3 after its bases: %+v %v, applied %v, %d written", a, err, frames(c, "applied"), written(t, c))
	}

	// Another cloud, told the edge kept nothing more: the frame is lost.
	other := testReceiver(t)
	peer.Replayed[0] = true
	a, err = other.handle(ctx, peer, 4, 0, blocks[3])
	if err != nil || !a.Resync || frames(other, "no_base") != 1 || written(t, other) != 0 {
		t.Fatalf("after REPLAYED: %+v %v, no_base %v, %d written; want resync, 1, 0", a, err, frames(other, "no_base"), written(t, other))
	}
}
