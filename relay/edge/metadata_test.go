package edge

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

func md(typ, help, unit string) relay.Metadata {
	return relay.Metadata{Type: typ, Help: help, Unit: unit}
}

// send runs b through the tracker and reports what it carries, making it
// durable when durable is set.
func send(tr *metaTracker, b *relay.Batch, durable bool) map[string]relay.Metadata {
	done := tr.prepare(b)
	done(durable)
	return b.Metadata
}

func metaBatch(m map[string]relay.Metadata) *relay.Batch {
	return &relay.Batch{Timestamp: 1, Metadata: maps.Clone(m)}
}

func TestMetadataTravelsWhenChanged(t *testing.T) {
	tr := newMetaTracker(100, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	first := map[string]relay.Metadata{
		"http_requests_total": md("counter", "Requests.", ""),
		"req_seconds":         md("histogram", "Latency.", "seconds"),
	}
	for _, step := range []struct {
		name    string
		in      map[string]relay.Metadata
		durable bool
		want    map[string]relay.Metadata
	}{
		{"new families travel", first, true, first},
		{"unchanged: nothing travels", first, true, nil},
		{"unchanged again", first, true, nil},
		{"a changed HELP travels alone", map[string]relay.Metadata{
			"http_requests_total": md("counter", "Requests served.", ""),
			"req_seconds":         md("histogram", "Latency.", "seconds"),
		}, false, map[string]relay.Metadata{"http_requests_total": md("counter", "Requests served.", "")}},
		{"not durable last time: travels again", map[string]relay.Metadata{
			"http_requests_total": md("counter", "Requests served.", ""),
		}, true, map[string]relay.Metadata{"http_requests_total": md("counter", "Requests served.", "")}},
		{"now learnt", map[string]relay.Metadata{
			"http_requests_total": md("counter", "Requests served.", ""),
		}, true, nil},
		{"a changed UNIT travels", map[string]relay.Metadata{
			"req_seconds": md("histogram", "Latency.", "milliseconds"),
		}, true, map[string]relay.Metadata{"req_seconds": md("histogram", "Latency.", "milliseconds")}},
		{"a changed TYPE travels", map[string]relay.Metadata{
			"req_seconds": md("summary", "Latency.", "milliseconds"),
		}, true, map[string]relay.Metadata{"req_seconds": md("summary", "Latency.", "milliseconds")}},
		{"a batch without metadata carries none", nil, true, nil},
	} {
		got := send(tr, metaBatch(step.in), step.durable)
		if !maps.Equal(got, step.want) {
			t.Fatalf("%s: carries %v, want %v", step.name, got, step.want)
		}
	}
}

func TestMetadataFullSetAfterConnect(t *testing.T) {
	tr := newMetaTracker(100, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	all := map[string]relay.Metadata{"a": md("gauge", "A.", ""), "b": md("counter", "B.", "bytes")}
	if got := send(tr, metaBatch(all), true); !maps.Equal(got, all) {
		t.Fatalf("first: %v", got)
	}
	data := func() *relay.Batch {
		return &relay.Batch{Timestamp: 2, Series: []relay.Series{{Labels: labels.FromStrings("__name__", "a"), Samples: []relay.Sample{{T: 2, V: 1}}}}}
	}
	if got := send(tr, data(), true); got != nil {
		t.Fatalf("data batch before any connection carries %v", got)
	}
	tr.resend()
	if got := send(tr, data(), false); !maps.Equal(got, all) {
		t.Fatalf("first batch after a connection carries %v, want the full set", got)
	}
	// That batch never became durable: the next carries the full set again,
	// with a change merged in.
	changed := map[string]relay.Metadata{"b": md("counter", "B!", "bytes")}
	want := map[string]relay.Metadata{"a": all["a"], "b": changed["b"]}
	if got := send(tr, metaBatch(changed), true); !maps.Equal(got, want) {
		t.Fatalf("after a failed full set: %v, want %v", got, want)
	}
	if got := send(tr, data(), true); got != nil {
		t.Fatalf("full set sent once per connection; carries %v", got)
	}
	tr.resend()
	tr.resend()
	if got := send(tr, data(), true); !maps.Equal(got, want) {
		t.Fatalf("after two more connections: %v, want %v", got, want)
	}
	if got := send(tr, data(), true); got != nil {
		t.Fatalf("carries %v", got)
	}
}

func TestMetadataCap(t *testing.T) {
	reg := prometheus.NewRegistry()
	tr := newMetaTracker(3, 1<<20, slog.New(slog.DiscardHandler), reg)
	now := time.Unix(1_700_000_000, 0)
	tr.now = func() time.Time { return now }
	four := map[string]relay.Metadata{}
	for i := range 4 {
		four[fmt.Sprint("f", i)] = md("gauge", fmt.Sprint("F", i), "")
	}
	got := send(tr, metaBatch(four), true)
	if len(got) != 3 {
		t.Fatalf("carries %d families past a cap of 3: %v", len(got), got)
	}
	if n := testutil.ToFloat64(tr.refused); n != 1 {
		t.Errorf("edgerelay_metadata_refused_total = %v, want 1", n)
	}
	if n := tr.families(); n != 3 {
		t.Errorf("families kept = %d, want 3", n)
	}
	var out string
	for f := range four {
		if _, ok := got[f]; !ok {
			out = f
		}
	}
	// A family kept may still change at the cap.
	var kept string
	for f := range got {
		kept = f
		break
	}
	if c := send(tr, metaBatch(map[string]relay.Metadata{kept: md("gauge", "changed", "")}), true); len(c) != 1 {
		t.Errorf("a kept family's change at the cap carries %v", c)
	}
	// The refused one is refused again, and counted again.
	if c := send(tr, metaBatch(map[string]relay.Metadata{out: four[out]}), true); c != nil {
		t.Errorf("refused family carries %v", c)
	}
	if n := testutil.ToFloat64(tr.refused); n != 2 {
		t.Errorf("edgerelay_metadata_refused_total = %v, want 2", n)
	}
	// Families no sender announced for MetadataExpiry make room.
	now = now.Add(MetadataExpiry / 2)
	send(tr, metaBatch(map[string]relay.Metadata{kept: md("gauge", "changed", "")}), true)
	now = now.Add(MetadataExpiry/2 + time.Minute)
	if c := send(tr, metaBatch(map[string]relay.Metadata{out: four[out]}), true); !maps.Equal(c, map[string]relay.Metadata{out: four[out]}) {
		t.Errorf("after the others expired, %s carries %v", out, c)
	}
	if n := tr.families(); n != 2 {
		t.Errorf("families kept = %d, want 2 (%s and the refreshed %s)", n, out, kept)
	}
	if n := testutil.ToFloat64(tr.refused); n != 2 {
		t.Errorf("edgerelay_metadata_refused_total = %v, want still 2", n)
	}
}

func TestMetadataTrackerConcurrent(t *testing.T) {
	tr := newMetaTracker(50, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if i%50 == 0 {
					tr.resend()
				}
				m := map[string]relay.Metadata{fmt.Sprint("f", (g*7+i)%80): md("gauge", fmt.Sprint(i%3), "")}
				send(tr, metaBatch(m), i%5 != 0)
			}
		}()
	}
	wg.Wait()
	if n := tr.families(); n > 50 {
		t.Fatalf("%d families kept past a cap of 50", n)
	}
}

// testEdge is an edge on a real Badger queue whose committer runs, with
// no uplink: what Submit queues is read back with blocks.
type testEdge struct {
	t     *testing.T
	e     *Edge
	ctx   context.Context
	after uint64
}

func newTestEdge(t *testing.T) *testEdge {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, `
edge:
  tenant: acme
  site: plant-7
  data_dir: %s
  queue: {max_bytes: 256KiB, max_block_bytes: 64KiB, min_free_bytes: 1}
  upstream: {address: "127.0.0.1:1", server_name: localhost, insecure_skip_verify: true}
`, filepath.ToSlash(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg.Edge, Options{Logger: slog.New(slog.DiscardHandler), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.com.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; e.queue.Close(); ln.Close() })
	return &testEdge{t: t, e: e, ctx: ctx}
}

func (te *testEdge) submit(b *relay.Batch) {
	te.t.Helper()
	if err := te.e.Submit(te.ctx, b); err != nil {
		te.t.Fatal(err)
	}
}

// blocks returns the blocks queued since the last call, decoded.
func (te *testEdge) blocks() []*relay.Block {
	te.t.Helper()
	bs, err := te.e.queue.Read(te.after, 1000, 64<<20)
	if err != nil {
		te.t.Fatal(err)
	}
	var out []*relay.Block
	for _, b := range bs {
		te.after = b.Seq
		blk, err := block.Decode(b.Data)
		if err != nil {
			te.t.Fatal(err)
		}
		out = append(out, blk)
	}
	return out
}

// TestMetadataOnlyBatchIsQueued submits through a real edge and its Badger
// queue: a metadata-only remote_write batch becomes a block of its own,
// the same metadata again adds nothing, and after an uplink connection, or
// after the queue's cap dropped blocks, the next data batch carries every
// family.
func TestMetadataOnlyBatchIsQueued(t *testing.T) {
	te := newTestEdge(t)
	e, submit, blocks := te.e, te.submit, te.blocks
	meta := map[string]relay.Metadata{
		"node_load1":            md("gauge", "1m load average.", ""),
		"node_cpu_seconds":      md("counter", "Seconds the CPUs spent in each mode.", "seconds"),
		"process_start_seconds": md("gauge", "Start time.", "seconds"),
	}

	submit(metaBatch(meta))
	got := blocks()
	if len(got) != 1 || len(got[0].Batches) != 1 || !maps.Equal(got[0].Batches[0].Metadata, meta) || len(got[0].Batches[0].Series) != 0 {
		t.Fatalf("metadata-only request: queued %+v, want one block with the metadata", got)
	}
	submit(metaBatch(meta))
	if got := blocks(); len(got) != 0 {
		t.Fatalf("unchanged metadata queued again: %+v", got)
	}
	data := &relay.Batch{Timestamp: 5, Series: []relay.Series{{
		Labels: labels.FromStrings("__name__", "node_load1", "job", "node"), Samples: []relay.Sample{{T: 5, V: 0.5}},
	}}}
	submit(data)
	got = blocks()
	if len(got) != 1 || got[0].Batches[0].Metadata != nil {
		t.Fatalf("data batch: %+v, want no metadata", got)
	}
	e.onConnect("", true, 2)
	data.Metadata = nil
	submit(data)
	got = blocks()
	if len(got) != 1 || !maps.Equal(got[0].Batches[0].Metadata, meta) {
		t.Fatalf("first data batch after a connection: %+v, want the full metadata set", got)
	}
	if s := got[0].Batches[0].Series; len(s) != 1 || s[0].Labels.Get("site") != "plant-7" {
		t.Fatalf("series %v", s)
	}

	// Fill the queue past its cap with values that do not compress.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; e.queue.Stats().DroppedBlocks == 0; i++ {
		if i == 100 {
			t.Fatal("no block dropped after 100 large batches")
		}
		big := &relay.Batch{Timestamp: 6}
		for j := range 2000 {
			big.Series = append(big.Series, relay.Series{
				Labels:  labels.FromStrings("__name__", "noise", "i", fmt.Sprint(j)),
				Samples: []relay.Sample{{T: 6, V: rng.Float64()}},
			})
		}
		submit(big)
	}
	blocks()
	data.Metadata = nil
	submit(data)
	got = blocks()
	if len(got) != 1 || !maps.Equal(got[0].Batches[0].Metadata, meta) {
		t.Fatalf("first data batch after a cap drop: %+v, want the full metadata set", got)
	}
}

// TestLargeMetadataSetIsSplit: a full set larger than a block can hold
// travels in several batches, each within a quarter of max_block_bytes,
// together all of it; a family whose metadata alone is larger is refused
// and counted.
func TestLargeMetadataSetIsSplit(t *testing.T) {
	te := newTestEdge(t)
	meta := map[string]relay.Metadata{}
	for i := range 2000 {
		meta[fmt.Sprintf("family_%04d_total", i)] = md("counter", fmt.Sprintf("Help text of family %d, long enough to count for something.", i), "")
	}
	huge := metaBatch(meta)
	huge.Metadata["huge"] = md("gauge", strings.Repeat("x", 20<<10), "")
	te.submit(huge)
	got := map[string]relay.Metadata{}
	blocks := te.blocks()
	if len(blocks) < 2 {
		t.Fatalf("%d blocks for ~170 KB of metadata with 64 KiB blocks", len(blocks))
	}
	for _, blk := range blocks {
		for _, b := range blk.Batches {
			size := 0
			for fam, m := range b.Metadata {
				size += metaSize(fam, m)
				got[fam] = m
			}
			if size > 16<<10 {
				t.Errorf("a batch carries %d bytes of metadata, more than a quarter of max_block_bytes", size)
			}
		}
	}
	if !maps.Equal(got, meta) {
		t.Errorf("queued %d families, want the %d sent (and not the huge one)", len(got), len(meta))
	}
	if n := testutil.ToFloat64(te.e.meta.refused); n != 1 {
		t.Errorf("edgerelay_metadata_refused_total = %v, want 1 (the huge family)", n)
	}
	// The full set after a connection is split the same way.
	te.e.onConnect("", true, 2)
	te.submit(&relay.Batch{Timestamp: 2, Series: []relay.Series{{Labels: labels.FromStrings("__name__", "family_0001_total"), Samples: []relay.Sample{{T: 2, V: 1}}}}})
	got = map[string]relay.Metadata{}
	series := 0
	for _, blk := range te.blocks() {
		for _, b := range blk.Batches {
			maps.Copy(got, b.Metadata)
			series += len(b.Series)
		}
	}
	if !maps.Equal(got, meta) || series != 1 {
		t.Errorf("full set: %d families and %d series queued, want %d and 1", len(got), series, len(meta))
	}
}

func TestSplitMetadata(t *testing.T) {
	b := &relay.Batch{Timestamp: 7, Metadata: map[string]relay.Metadata{}}
	for i := range 10 {
		b.Metadata[fmt.Sprint("f", i)] = md("gauge", "0123456789", "") // 2+5+10+16 = 33 bytes
	}
	all := maps.Clone(b.Metadata)
	rest := splitMetadata(b, 100) // three families a batch
	if len(b.Metadata) == 0 || len(b.Metadata) > 3 || len(rest) != 3 {
		t.Fatalf("kept %d, %d more batches", len(b.Metadata), len(rest))
	}
	got := maps.Clone(b.Metadata)
	for _, r := range rest {
		if r.Timestamp != 7 || len(r.Series) != 0 || len(r.Metadata) > 3 {
			t.Fatalf("batch %+v", r)
		}
		maps.Copy(got, r.Metadata)
	}
	if !maps.Equal(got, all) {
		t.Fatalf("split lost families: %v", got)
	}
	small := &relay.Batch{Metadata: map[string]relay.Metadata{"a": md("gauge", "", "")}}
	if rest := splitMetadata(small, 100); rest != nil || len(small.Metadata) != 1 {
		t.Fatal("a small set was split")
	}
}
