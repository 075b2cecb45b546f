package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/store"
)

// openQueue opens a real queue in a temporary directory.
func openQueue(t *testing.T, o store.Options) *store.Queue {
	t.Helper()
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := store.Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// scrapeOf is a scrape of target n holding series series of one sample,
// with values that do not compress much.
func scrapeOf(n, series int) *relay.Batch {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(series)))
	inst := fmt.Sprintf("host-%d:9100", n)
	b := &relay.Batch{Scrape: true, Job: "node", Instance: inst, Timestamp: 1_700_000_000_000 + int64(n),
		TargetLabels: labels.FromStrings("__address__", inst)}
	for i := range series {
		b.Series = append(b.Series, relay.Series{
			Labels:  labels.FromStrings("__name__", "m", "i", fmt.Sprintf("%d-%x", i, rng.Uint64()), "instance", inst, "job", "node"),
			Samples: []relay.Sample{{T: b.Timestamp - int64(i), V: rng.NormFloat64() * 1e6}},
		})
	}
	return b
}

// queuedBatches decodes every block of q in order, checking each fits
// maxBlock.
func queuedBatches(t *testing.T, q *store.Queue, maxBlock int) ([]*relay.Batch, []store.Block) {
	t.Helper()
	blocks, err := q.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []*relay.Batch
	for _, blk := range blocks {
		if len(blk.Data) > maxBlock {
			t.Fatalf("block %d is %d bytes, max_block_bytes %d", blk.Seq, len(blk.Data), maxBlock)
		}
		b, err := block.Decode(blk.Data)
		if err != nil {
			t.Fatalf("block %d: %v", blk.Seq, err)
		}
		if b.Tenant != "acme" || b.Site != "plant-7" {
			t.Fatalf("block %d is tenant %q site %q", blk.Seq, b.Tenant, b.Site)
		}
		out = append(out, b.Batches...)
	}
	return out, blocks
}

// TestGroupCommit: batches submitted while the committer is busy share one
// synced commit, every submitter learns its batch is durable, and the queue
// holds them in submission order.
func TestGroupCommit(t *testing.T) {
	for _, interval := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprint("interval ", interval), func(t *testing.T) {
			q := openQueue(t, store.Options{})
			reg := prometheus.NewRegistry()
			c := newCommitter(q, "acme", "plant-7", interval, 1<<20, slog.New(slog.DiscardHandler), reg)
			const n = 20
			want := make([]*relay.Batch, n)
			errs := make(chan error, n)
			for i := range n {
				want[i] = scrapeOf(i, 3)
				b := cloneBatch(want[i])
				// One at a time, so the order in the queue is known.
				go func() { errs <- c.submit(context.Background(), b) }()
				for len(c.in) < i+1 {
					time.Sleep(time.Millisecond)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.run(ctx) }()
			for range n {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(c.commits); got != 1 {
				t.Fatalf("%v commits for %d batches waiting together, want 1", got, n)
			}
			if got := testutil.ToFloat64(c.committed); got != 3*n {
				t.Fatalf("committed samples = %v, want %d", got, 3*n)
			}
			got, _ := queuedBatches(t, q, 1<<20)
			if len(got) != n {
				t.Fatalf("%d batches queued, want %d", len(got), n)
			}
			for i := range want {
				if batchKey(got[i]) != batchKey(want[i]) {
					t.Fatalf("batch %d is %s, want %s", i, batchKey(got[i]), batchKey(want[i]))
				}
				if d := diffBatch(want[i], got[i]); d != "" {
					t.Fatalf("batch %d: %s", i, d)
				}
			}
		})
	}
}

// TestCommitterDrainsOnStop: a batch waiting when the committer is told to
// stop is still made durable before run returns.
func TestCommitterDrainsOnStop(t *testing.T) {
	q := openQueue(t, store.Options{})
	c := newCommitter(q, "acme", "plant-7", 0, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	errc := make(chan error, 1)
	go func() { errc <- c.submit(context.Background(), scrapeOf(1, 2)) }()
	for len(c.in) < 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got, _ := queuedBatches(t, q, 1<<20); len(got) != 1 {
		t.Fatalf("%d batches queued, want the one waiting at stop", len(got))
	}
}

// TestCommitFailureRefusesTheGroup: when the queue refuses the append,
// every batch of the group is refused with relay.ErrQueueFull and counted.
func TestCommitFailureRefusesTheGroup(t *testing.T) {
	q := openQueue(t, store.Options{})
	c := newCommitter(q, "acme", "plant-7", 0, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	q.Close()
	group := []*pending{{b: scrapeOf(1, 2), done: make(chan error, 1)}, {b: scrapeOf(2, 2), done: make(chan error, 1)}}
	c.commit(group)
	for i, p := range group {
		if err := <-p.done; !errors.Is(err, relay.ErrQueueFull) || !errors.Is(err, store.ErrClosed) {
			t.Fatalf("batch %d: err = %v, want queue full wrapping the queue's error", i, err)
		}
	}
	if f, c := testutil.ToFloat64(c.failures), testutil.ToFloat64(c.commits); f != 1 || c != 0 {
		t.Fatalf("failures %v, commits %v; want 1 and 0", f, c)
	}
}

// TestCommitRemoteWriteConcurrent: remote_write senders, each sending its
// next batch once the last was answered, and scrapes submitted beside them
// all become durable, whether a batch was committed at once (alone) or
// shared a commit, and each sender's batches are queued in the order it
// sent them, the blocks encoded into the memory of earlier commits.
func TestCommitRemoteWriteConcurrent(t *testing.T) {
	q := openQueue(t, store.Options{})
	c := newCommitter(q, "acme", "plant-7", time.Millisecond, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.run(ctx) }()
	const senders, each = 3, 40
	var wg sync.WaitGroup
	errs := make(chan error, senders*each+each)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				b := &relay.Batch{Timestamp: int64(s*1000 + i), Series: []relay.Series{{
					Labels:  labels.FromStrings("__name__", "m", "sender", fmt.Sprint(s)),
					Samples: []relay.Sample{{T: int64(i), V: float64(i)}},
				}}}
				errs <- c.submit(ctx, b)
			}
		})
	}
	wg.Go(func() {
		for i := range each {
			errs <- c.submit(ctx, scrapeOf(i, 2))
		}
	})
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := queuedBatches(t, q, 1<<20)
	if len(got) != senders*each+each {
		t.Fatalf("%d batches queued, want %d", len(got), senders*each+each)
	}
	next := make(map[int64]int64)
	for _, b := range got {
		if b.Scrape {
			continue
		}
		s := b.Timestamp / 1000
		if b.Timestamp%1000 != next[s] {
			t.Fatalf("sender %d: batch %d queued where %d was due", s, b.Timestamp%1000, next[s])
		}
		next[s]++
	}
}
