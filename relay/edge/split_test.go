package edge

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/store"
)

// TestBlockSplitting: a group larger than max_block_bytes is queued as
// several blocks, each within the limit, first by batches and then, for a
// batch too large alone, by series; every part keeps its batch's identity
// and timestamp, and together the blocks hold every sample in order.
func TestBlockSplitting(t *testing.T) {
	const maxBlock = 2 << 10
	small := []*relay.Batch{scrapeOf(1, 5), scrapeOf(2, 5), scrapeOf(3, 5), scrapeOf(4, 5), scrapeOf(5, 5), scrapeOf(6, 5)}
	big := scrapeOf(7, 400)
	var many []*relay.Batch
	for i := range 20 {
		many = append(many, scrapeOf(10+i, 5))
	}
	for _, tc := range []struct {
		name      string
		in        []*relay.Batch
		minBlocks int
		maxBlocks int
	}{
		{"batches fit a block together", small[:2], 1, 1},
		{"many batches", many, 2, 20},
		{"one batch too large", []*relay.Batch{big}, 4, 400},
		{"large batch among small ones", append(slices.Clone(small[:3]), big, small[3]), 5, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := openQueue(t, store.Options{MaxBlockBytes: maxBlock})
			c := newCommitter(q, "acme", "plant-7", 0, maxBlock, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			group := make([]*pending, len(tc.in))
			samples := 0
			for i, b := range tc.in {
				group[i] = &pending{b: cloneBatch(b), done: make(chan error, 1)}
				samples += b.Samples()
			}
			c.commit(group)
			for _, p := range group {
				if err := <-p.done; err != nil {
					t.Fatal(err)
				}
			}
			got, blocks := queuedBatches(t, q, maxBlock)
			if len(blocks) < tc.minBlocks || len(blocks) > tc.maxBlocks {
				t.Fatalf("%d blocks, want %d to %d", len(blocks), tc.minBlocks, tc.maxBlocks)
			}
			queuedSamples := 0
			for _, blk := range blocks {
				queuedSamples += blk.Samples
			}
			if queuedSamples != samples {
				t.Fatalf("blocks count %d samples, want %d", queuedSamples, samples)
			}
			// Join the parts of split batches back, in order.
			var joined []*relay.Batch
			for _, b := range got {
				if n := len(joined); n > 0 && batchKey(joined[n-1]) == batchKey(b) {
					last := joined[n-1]
					if !labels.Equal(last.TargetLabels, b.TargetLabels) {
						t.Fatalf("parts of %s carry target labels %v and %v", batchKey(b), last.TargetLabels, b.TargetLabels)
					}
					last.Series = append(last.Series, b.Series...)
					continue
				}
				joined = append(joined, b)
			}
			if len(joined) != len(tc.in) {
				t.Fatalf("%d batches after joining parts, want %d", len(joined), len(tc.in))
			}
			for i, want := range tc.in {
				if batchKey(joined[i]) != batchKey(want) {
					t.Fatalf("batch %d is %s, want %s", i, batchKey(joined[i]), batchKey(want))
				}
				for j := range want.Series {
					if !labels.Equal(joined[i].Series[j].Labels, want.Series[j].Labels) {
						t.Fatalf("batch %d series %d is %v, want %v (order kept)", i, j, joined[i].Series[j].Labels, want.Series[j].Labels)
					}
				}
				if d := diffBatch(want, joined[i]); d != "" {
					t.Fatalf("batch %d: %s", i, d)
				}
			}
		})
	}
}

// TestBlockSplittingOneHugeSeries: a single series larger than a block
// cannot be split; the queue refuses it and the batch is refused as queue
// full, so the sender learns it was not taken.
func TestBlockSplittingOneHugeSeries(t *testing.T) {
	const maxBlock = 1 << 10
	q := openQueue(t, store.Options{MaxBlockBytes: maxBlock})
	c := newCommitter(q, "acme", "plant-7", 0, maxBlock, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	b := scrapeOf(1, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		b.Series[0].Samples = append(b.Series[0].Samples, relay.Sample{T: int64(i), V: rng.NormFloat64()})
	}
	p := &pending{b: b, done: make(chan error, 1)}
	c.commit([]*pending{p})
	if err := <-p.done; !errors.Is(err, relay.ErrQueueFull) || !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("err = %v, want queue full wrapping the queue's too large", err)
	}
	if blocks, err := q.Read(0, 0, 0); err != nil || len(blocks) != 0 {
		t.Fatalf("queue holds %d blocks (%v), want none", len(blocks), err)
	}
}
