package cloud

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// TestGroupOfBlocks: blocks that arrived together reach the outputs in
// order and are acknowledged once durable, their marks recorded; a block
// that fails is answered after the blocks before it, which are kept, and
// leaves neither itself nor a block after it marked or delivered; a run
// the outputs fail keeps none of its blocks; duplicates are acknowledged
// without delivery; a block with delta frames takes its turn in order.
func TestGroupOfBlocks(t *testing.T) {
	whole := func(n int) transport.Block {
		return transport.Block{Seq: uint64(n), Data: scrapeBlock("acme", "s1", int64(1_700_000_000_000+1000*n))}
	}
	forged := transport.Block{Seq: 3, Data: scrapeBlock("other", "s1", 1_700_000_003_000)}
	corrupt := transport.Block{Seq: 3, Data: []byte("not a block")}
	edge := &deltaEdge{enc: delta.NewEncoder(1)}
	framed2 := transport.Block{Seq: 2, Data: edge.block()} // a full frame
	framed5 := transport.Block{Seq: 5, Data: edge.block()} // on its base
	type step struct {
		blocks    []transport.Block
		outFails  bool   // the recorder output fails every delivery
		acks      int    // answered blocks
		err       string // in the error failing the next one ("" none)
		delivered string // seqs the outputs took, in order
	}
	tests := []struct {
		name   string
		steps  []step
		marked string // seqs marked handled at the end, of 1..6
	}{
		{"whole blocks together", []step{
			{blocks: []transport.Block{whole(1), whole(2), whole(3), whole(4)}, acks: 4, delivered: "1 2 3 4"},
		}, "1 2 3 4"},
		{"a block of another tenant, then resent right", []step{
			{blocks: []transport.Block{whole(1), whole(2), forged, whole(4)}, acks: 2, err: `block 3 names tenant "other"`, delivered: "1 2"},
			{blocks: []transport.Block{whole(3), whole(4)}, acks: 2, delivered: "3 4"},
		}, "1 2 3 4"},
		{"a corrupt block first", []step{
			{blocks: []transport.Block{corrupt, whole(4)}, acks: 0, err: "decode block 3"},
		}, ""},
		{"outputs fail a run", []step{
			{blocks: []transport.Block{whole(1), whole(2)}, outFails: true, acks: 0, err: "block 1: recorder: receiver down", delivered: "1"},
			{blocks: []transport.Block{whole(1), whole(2), whole(3)}, acks: 3, delivered: "1 2 3"},
		}, "1 2 3"},
		{"duplicates and delta frames in order", []step{
			{blocks: []transport.Block{whole(1), framed2, whole(3)}, acks: 3, delivered: "1 2 3"},
			{blocks: []transport.Block{whole(1), framed2, whole(3), whole(4), framed5, whole(6)}, acks: 6, delivered: "4 5 6"},
		}, "1 2 3 4 5 6"},
		{"a delta block fails after a run", []step{
			{blocks: []transport.Block{whole(1), {Seq: 2, Data: []byte("bad")}, whole(3)}, acks: 1, err: "decode block 2", delivered: "1"},
		}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReceiver(t)
			rec := &recorder{}
			r.outputs = append(r.outputs, rec)
			peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
			for i, st := range tt.steps {
				rec.delivered = nil
				rec.fail = nil
				if st.outFails {
					rec.fail = errors.New("receiver down")
				}
				acks, err := r.handleGroup(context.Background(), peer, st.blocks)
				if len(acks) != st.acks || (err == nil) != (st.err == "") || (err != nil && !strings.Contains(err.Error(), st.err)) {
					t.Fatalf("step %d: %d answers, error %v; want %d, error with %q", i, len(acks), err, st.acks, st.err)
				}
				var got []string
				for _, d := range rec.delivered {
					_, seq, _ := strings.Cut(d, "#")
					seq, _, _ = strings.Cut(seq, ":")
					got = append(got, seq)
				}
				if g := strings.Join(got, " "); g != st.delivered {
					t.Fatalf("step %d: outputs took %q, want %q", i, g, st.delivered)
				}
			}
			var marked []string
			for seq := uint64(1); seq <= 6; seq++ {
				if seen, err := r.marks.seen("acme", "s1", 7, seq); err != nil {
					t.Fatal(err)
				} else if seen {
					marked = append(marked, fmt.Sprint(seq))
				}
			}
			if g := strings.Join(marked, " "); g != tt.marked {
				t.Fatalf("marked %q, want %q", g, tt.marked)
			}
			// The files output took every block kept (delivered together
			// through files.Writer.DeliverAll), one scrape directory each.
			dirs, _ := filepath.Glob(filepath.Join(r.cfg.FilesDir, "acme", "s1", "*", "[0-9]*", "*.json"))
			if len(dirs) != len(marked) {
				t.Fatalf("%d scrape directories written, want %d: %v", len(dirs), len(marked), dirs)
			}
		})
	}
}
