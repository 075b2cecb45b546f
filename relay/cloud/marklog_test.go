package cloud

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// TestBlockMarksInBaseLog: a delta block is marked handled in its base log
// record, the dedup file untouched; after a restart without a clean stop
// (as after kill -9) every block sent is a duplicate, applied once, also
// after its log was folded into a checkpoint, while a torn last record
// (never acknowledged) leaves its block to be applied again.
func TestBlockMarksInBaseLog(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
	edge := &deltaEdge{enc: delta.NewEncoder(42)}
	marksFile := filepath.Join(dir, "cloud", "dedup", "acme.s1.json")
	logPath := filepath.Join(dir, "cloud", "bases", "acme.s1.0000000000000007.log")
	var sent [][]byte
	send := func(c *receiver, seq uint64) receipt {
		t.Helper()
		for uint64(len(sent)) < seq {
			sent = append(sent, edge.block())
		}
		rc, err := c.fromEdge(ctx, peer, seq, 0, sent[seq-1])
		if err != nil {
			t.Fatalf("block %d: %v", seq, err)
		}
		return rc
	}
	c := testReceiverAt(t, dir)
	for seq := range uint64(4) {
		if rc := send(c, seq+1); rc.duplicate {
			t.Fatalf("block %d taken as a duplicate the first time", seq+1)
		}
	}
	if _, err := os.Stat(marksFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dedup file written for delta blocks (%v): their marks belong in the base log", err)
	}
	crash := func() *receiver { return testReceiverAt(t, dir) } // nothing closed, nothing flushed
	c = crash()
	for seq := range uint64(4) {
		if rc := send(c, seq+1); !rc.duplicate {
			t.Fatalf("after a crash block %d was applied again", seq+1)
		}
	}
	if written(t, c) != 4 || frames(c, "applied") != 0 {
		t.Fatalf("after a crash: %d scrapes written, %v frames applied; want 4, 0", written(t, c), frames(c, "applied"))
	}

	// A torn record at the end: its block was never acknowledged.
	send(c, 5)
	good, _ := os.ReadFile(logPath)
	st, _ := os.Stat(logPath)
	c = crash()
	if err := os.Truncate(logPath, st.Size()-3); err != nil {
		t.Fatal(err)
	}
	if rc := send(c, 5); rc.duplicate || frames(c, "applied") != 1 {
		t.Fatalf("block 5 of a torn record: duplicate %v, applied %v; want it applied again", rc.duplicate, frames(c, "applied"))
	}
	if b, _ := os.ReadFile(logPath); len(b) != len(good) {
		t.Fatalf("log after the resend: %d bytes, want %d as before the tear", len(b), len(good))
	}

	// A fold empties the log: the marks go to the dedup file first.
	minFold = 0
	defer func() { minFold = 4 << 20 }()
	send(c, 6)
	minFold = 4 << 20
	if st, _ := os.Stat(logPath); st.Size() != 0 {
		t.Fatalf("log not folded: %d bytes", st.Size())
	}
	c = crash()
	for seq := range uint64(6) {
		if rc := send(c, seq+1); !rc.duplicate {
			t.Fatalf("after a fold and a crash block %d was applied again", seq+1)
		}
	}
	if rc := send(c, 7); rc.duplicate || frames(c, "applied") != 1 || written(t, c) != 7 {
		t.Fatalf("block 7: duplicate %v, applied %v, %d written", rc.duplicate, frames(c, "applied"), written(t, c))
	}
}
