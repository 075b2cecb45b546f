package edge

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/store"
)

// countingQueue takes every append, counting them.
type countingQueue struct{ appends int }

func (q *countingQueue) Append(recs ...store.Record) (uint64, error) {
	q.appends++
	return uint64(q.appends), nil
}

// TestCommitRemoteWriteAlone checks, on synctest's clock, that a
// remote_write batch submitted while no other is under way is committed
// without waiting the commit interval, while a scrape waits it for others
// to share its commit.
func TestCommitRemoteWriteAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &countingQueue{}
		c := newCommitter(q, "acme", "plant-7", time.Hour, 1<<20, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.run(ctx) }()
		defer func() { cancel(); <-done }()

		rw := &relay.Batch{Timestamp: 1, Series: []relay.Series{{
			Labels: labels.FromStrings("__name__", "up", "job", "node"), Samples: []relay.Sample{{T: 1, V: 1}},
		}}}
		start := time.Now()
		if err := c.submit(ctx, rw); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a lone remote_write batch waited %s for its commit, want 0", waited)
		}
		start = time.Now()
		if err := c.submit(ctx, scrapeOf(1, 3)); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != time.Hour {
			t.Errorf("a scrape waited %s for its commit, want the commit interval (1h)", waited)
		}
		if q.appends != 2 {
			t.Errorf("%d appends, want 2", q.appends)
		}
	})
}
