package cloud

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// deltaEdge encodes scrapes of one target as an edge does.
type deltaEdge struct {
	enc  *delta.Encoder
	n    int
	site string // "s1" when empty
}

// block returns a block holding the next scrape's frame; value i of the
// scrape is i*scrape number, so every scrape differs from the last.
func (e *deltaEdge) block() []byte {
	e.n++
	ts := int64(1_700_000_000_000 + 15000*e.n)
	b := &relay.Batch{Scrape: true, Job: "node", Instance: "h:9100", Timestamp: ts}
	for i := range 10 {
		b.Series = append(b.Series, relay.Series{
			Labels:  labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "instance", "h:9100", "job", "node", "site", "s1"),
			Samples: []relay.Sample{{T: ts, V: float64(i * e.n)}},
		})
	}
	var s delta.Scrape
	var kb deltaconv.KeyBuffer
	if !deltaconv.ScrapeOf(b, &s, labels.EmptyLabels(), &kb) {
		panic("BUG: test scrape does not fit the delta model")
	}
	frame := e.enc.AppendFrame(nil, &s)
	site := e.site
	if site == "" {
		site = "s1"
	}
	return block.Encode(nil, &relay.Block{Tenant: "acme", Site: site, Generation: e.enc.Generation(), Frames: [][]byte{frame}})
}

// written returns how many scrape directories the cloud wrote.
func written(t *testing.T, c *receiver) int {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(c.cfg.FilesDir, "acme", "s1", "h_9100.node", "[0-9]*", "*.json"))
	return len(dirs)
}

func frames(c *receiver, outcome string) float64 {
	return testutil.ToFloat64(c.frames.WithLabelValues(outcome))
}

// TestDeltaBasesSurviveRestart: a restarted cloud applies the next
// incremental frame against the base it persisted, through a torn log tail,
// a folded log, and a crash between folding and emptying the log; a frame
// already applied is skipped as a repeat.
func TestDeltaBasesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
	edge := &deltaEdge{enc: delta.NewEncoder(42)}
	seq := uint64(0)
	send := func(c *receiver, data []byte) {
		t.Helper()
		seq++
		if _, err := c.handle(ctx, peer, seq, 0, data); err != nil {
			t.Fatalf("block %d: %v", seq, err)
		}
	}
	restart := func(c *receiver) *receiver {
		c.bases.close()
		return testReceiverAt(t, dir)
	}
	logPath := filepath.Join(dir, "cloud", "bases", "acme.s1.0000000000000007.log")

	c := testReceiverAt(t, dir)
	for range 5 {
		send(c, edge.block())
	}
	c = restart(c)
	send(c, edge.block())
	if frames(c, "applied") != 1 || frames(c, "no_base") != 0 || written(t, c) != 6 {
		t.Fatalf("after a restart: applied %v, no_base %v, %d scrapes written", frames(c, "applied"), frames(c, "no_base"), written(t, c))
	}

	// A crash while appending leaves a torn record: it is cut off.
	before, _ := os.ReadFile(logPath)
	os.WriteFile(logPath, append(before, 0x40, 0, 0, 0, 1, 2), 0o644)
	c = restart(c)
	send(c, edge.block())
	if frames(c, "applied") != 1 || frames(c, "no_base") != 0 {
		t.Fatalf("after a torn log: applied %v, no_base %v", frames(c, "applied"), frames(c, "no_base"))
	}

	// Fold the log into a checkpoint, then put the old log back as a crash
	// between writing the checkpoint and emptying the log would leave it.
	logBefore, _ := os.ReadFile(logPath)
	minFold = 0
	defer func() { minFold = 4 << 20 }()
	send(c, edge.block())
	if st, _ := os.Stat(logPath); st.Size() != 0 {
		t.Fatalf("log not emptied by folding: %d bytes", st.Size())
	}
	minFold = 4 << 20
	c.bases.close()
	os.WriteFile(logPath, logBefore, 0o644)
	c = testReceiverAt(t, dir)
	send(c, edge.block())
	if frames(c, "applied") != 1 || frames(c, "no_base") != 0 || frames(c, "replay_failed") != 0 {
		t.Fatalf("after a fold and a stale log: applied %v, no_base %v, replay_failed %v",
			frames(c, "applied"), frames(c, "no_base"), frames(c, "replay_failed"))
	}

	// The same frame under a new sequence number (a resend the dedup state
	// missed) is a repeat: applied once, written once.
	data := edge.block()
	send(c, data)
	n := written(t, c)
	send(c, data)
	if frames(c, "repeat") != 1 || written(t, c) != n {
		t.Fatalf("repeat: %v, scrapes %d → %d", frames(c, "repeat"), n, written(t, c))
	}
	if n != 10 {
		t.Fatalf("%d scrapes written, want 10", n)
	}
}

// TestDeltaFailedBlockForgetsItsFrames: a block whose files cannot be
// written is refused, and what it applied to the base is forgotten, so the
// resent block applies again once the cloud can write.
func TestDeltaFailedBlockForgetsItsFrames(t *testing.T) {
	c := testReceiver(t)
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
	edge := &deltaEdge{enc: delta.NewEncoder(1)}
	if _, err := c.handle(ctx, peer, 1, 0, edge.block()); err != nil {
		t.Fatal(err)
	}
	// A file where the target's directory goes makes writing fail.
	target := filepath.Join(c.cfg.FilesDir, "acme", "s1", "h_9100.node")
	os.RemoveAll(target)
	os.WriteFile(target, nil, 0o644)
	data := edge.block()
	if _, err := c.handle(ctx, peer, 2, 0, data); err == nil {
		t.Fatal("block accepted although its files could not be written")
	}
	os.Remove(target)
	if _, err := c.handle(ctx, peer, 2, 0, data); err != nil {
		t.Fatalf("resent block: %v", err)
	}
	if frames(c, "applied") != 2 || frames(c, "no_base") != 0 || frames(c, "repeat") != 0 {
		t.Fatalf("applied %v, no_base %v, repeat %v", frames(c, "applied"), frames(c, "no_base"), frames(c, "repeat"))
	}
	if written(t, c) != 1 {
		t.Fatalf("%d scrapes in files, want the resent one", written(t, c))
	}
}

// TestDeltaFrameWithoutBase: an incremental frame the cloud has no base
// for (its data dir was lost) is counted and its scrape is not written;
// the block is still acknowledged, its Ack asking the edge for a resync,
// and the next generation's full frame makes the target whole again
// without asking for another.
func TestDeltaFrameWithoutBase(t *testing.T) {
	edge := &deltaEdge{enc: delta.NewEncoder(1)}
	edge.block() // the full frame, never delivered
	c := testReceiver(t)
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
	ack, err := c.handle(ctx, peer, 2, 0, edge.block())
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Resync {
		t.Fatalf("a block with a frame without base answered %+v, want a resync", ack)
	}
	if frames(c, "no_base") != 1 || written(t, c) != 0 {
		t.Fatalf("no_base %v, %d scrapes written", frames(c, "no_base"), written(t, c))
	}
	edge.enc.Checkpoint()
	if ack, err = c.handle(ctx, peer, 3, 0, edge.block()); err != nil {
		t.Fatal(err)
	}
	if ack.Resync {
		t.Fatalf("a full frame answered %+v, want no resync", ack)
	}
	if frames(c, "applied") != 1 || written(t, c) != 1 {
		t.Fatalf("after a new generation: applied %v, %d written", frames(c, "applied"), written(t, c))
	}
}

// FuzzBaseLog feeds random bytes as a site's persisted state and frame log:
// loading never panics, and a base that loads still takes a full frame.
func FuzzBaseLog(f *testing.F) {
	edge := &deltaEdge{enc: delta.NewEncoder(9)}
	blk, _ := block.Decode(edge.block())
	var rec []byte
	rec = binary.AppendUvarint(rec, uint64(len(blk.Frames[0])))
	rec = append(rec, blk.Frames[0]...)
	hdr := binary.LittleEndian.AppendUint32(nil, uint32(len(rec)))
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(rec, crcTable))
	f.Add([]byte{}, append(hdr, rec...))
	f.Add(delta.NewDecoder().MarshalState(nil), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, state, log []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "acme.s1.state"), state, 0o644)
		os.WriteFile(filepath.Join(dir, "acme.s1.log"), log, 0o644)
		b, err := newBases(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.close()
		sb, err := b.get("acme", "s1", 0, 0)
		if err != nil {
			t.Fatalf("damaged bases must be set aside, not refused: %v", err)
		}
		full := (&deltaEdge{enc: delta.NewEncoder(77)}).block()
		fb, _ := block.Decode(full)
		if _, err := sb.dec.Apply(fb.Frames[0]); err != nil {
			t.Fatalf("a full frame does not apply to a loaded base: %v", err)
		}
		sb.discard()
	})
}

// TestIdleBaseLeavesMemory: a site idle for idleBase is folded to disk and
// dropped from memory when another site sends; its next frame applies
// against the folded base.
func TestIdleBaseLeavesMemory(t *testing.T) {
	c := testReceiver(t)
	ctx := context.Background()
	idleEdge, busyEdge := &deltaEdge{enc: delta.NewEncoder(1)}, &deltaEdge{enc: delta.NewEncoder(2), site: "s2"}
	idle := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}
	busy := transport.Peer{Tenant: "acme", Site: "s2", QueueID: 2}
	for seq := uint64(1); seq <= 3; seq++ {
		if _, err := c.handle(ctx, idle, seq, 0, idleEdge.block()); err != nil {
			t.Fatal(err)
		}
	}
	sb := c.bases.m[baseKey("acme", "s1", 1, 0)]
	sb.used = time.Now().Add(-2 * idleBase)
	c.bases.swept = time.Time{}
	if _, err := c.handle(ctx, busy, 1, 0, busyEdge.block()); err != nil {
		t.Fatal(err)
	}
	if sb.loaded || sb.dec != nil {
		t.Fatal("idle site's base still in memory")
	}
	if _, err := c.handle(ctx, idle, 4, 0, idleEdge.block()); err != nil {
		t.Fatal(err)
	}
	if frames(c, "no_base") != 0 || frames(c, "applied") != 5 {
		t.Fatalf("after eviction: applied %v, no_base %v", frames(c, "applied"), frames(c, "no_base"))
	}
}

// TestDeltaLanes: an edge draining a backlog (lane 0, an older generation)
// beside live data (lane 1, a newer one) interleaves two streams of frames
// of the same target, the live lane's seqs above the backlog's; the cloud
// keeps a base per lane, so every frame applies, across a restart too. Sent
// as one lane, the same blocks lose scrapes.
func TestDeltaLanes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		liveLane  uint8
		wantLost  bool
		wantFiles int
	}{{"two lanes", 1, false, 16}, {"one lane", 0, true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
			backlog := &deltaEdge{enc: delta.NewEncoder(1)}
			live := &deltaEdge{enc: delta.NewEncoder(2)}
			live.n = 1000 // newer scrapes: distinct timestamps
			c := testReceiverAt(t, dir)
			var lost bool
			for i := range 8 {
				if i == 4 {
					c.bases.close()
					c = testReceiverAt(t, dir)
				}
				if _, err := c.handle(ctx, peer, uint64(1+i), 0, backlog.block()); err != nil {
					t.Fatal(err)
				}
				if _, err := c.handle(ctx, peer, uint64(100+i), tc.liveLane, live.block()); err != nil {
					t.Fatal(err)
				}
				lost = lost || frames(c, "no_base") > 0
			}
			if lost != tc.wantLost {
				t.Fatalf("frames without base: %v, want %v", lost, tc.wantLost)
			}
			if !tc.wantLost && written(t, c) != tc.wantFiles {
				t.Fatalf("%d scrapes written, want %d", written(t, c), tc.wantFiles)
			}
		})
	}
}

// TestDeltaTwoEdgesOfOneSite: two edges of one site (sharing its
// scrape_configs) send interleaved delta streams of the same target name
// under their own queue ids and generations; the cloud keeps a base per
// edge queue, so every frame of both applies and every scrape is written.
// (The "one lane" case of TestDeltaLanes shows what one shared base does.)
func TestDeltaTwoEdgesOfOneSite(t *testing.T) {
	c := testReceiver(t)
	ctx := context.Background()
	a, b := &deltaEdge{enc: delta.NewEncoder(1)}, &deltaEdge{enc: delta.NewEncoder(2)}
	b.n = 1000 // distinct timestamps
	pa := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 0xa}
	pb := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 0xb}
	for seq := uint64(1); seq <= 6; seq++ {
		if _, err := c.handle(ctx, pa, seq, 0, a.block()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.handle(ctx, pb, seq, 0, b.block()); err != nil {
			t.Fatal(err)
		}
	}
	if frames(c, "no_base") != 0 || frames(c, "applied") != 12 || written(t, c) != 12 {
		t.Fatalf("two edges of one site: applied %v, no_base %v, %d scrapes written; want 12, 0, 12",
			frames(c, "applied"), frames(c, "no_base"), written(t, c))
	}
}
