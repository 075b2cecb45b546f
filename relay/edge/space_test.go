package edge

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/store"
)

// TestSpaceGuard: below queue.min_free_bytes every batch is refused as
// queue full and counted, the episode is logged once at its start and once
// at its end, and the free space is exported; with no reserve nothing is
// checked.
func TestSpaceGuard(t *testing.T) {
	dir := t.TempDir()
	q, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	g := newSpaceGuard(dir, 1, slog.New(slog.NewTextHandler(&logs, nil)), reg)

	if err := g.check(); err != nil {
		t.Fatalf("with 1 byte reserved: %v", err)
	}
	if free := metrictest.Value(t, reg, "edgerelay_queue_disk_free_bytes"); free <= 0 {
		t.Fatalf("disk free bytes = %v, want the filesystem's free space", free)
	}

	g.reserve = math.MaxUint64 // no disk has that much free
	for range 3 {
		err := g.check()
		if !errors.Is(err, relay.ErrQueueFull) || !strings.Contains(err.Error(), "queue.min_free_bytes") {
			t.Fatalf("err = %v, want queue full naming queue.min_free_bytes", err)
		}
	}
	if got := testutil.ToFloat64(g.refused); got != 3 {
		t.Fatalf("refused batches = %v, want 3", got)
	}
	if n := strings.Count(logs.String(), "disk almost full"); n != 1 {
		t.Fatalf("low space logged %d times, want once:\n%s", n, logs.String())
	}

	g.reserve = 1
	if err := g.check(); err != nil {
		t.Fatalf("space back: %v", err)
	}
	if n := strings.Count(logs.String(), "disk space is back"); n != 1 {
		t.Fatalf("recovery logged %d times, want once:\n%s", n, logs.String())
	}
	if got := testutil.ToFloat64(g.refused); got != 3 {
		t.Fatalf("refused batches = %v after space came back, want still 3", got)
	}

	// Without a reserve the guard never refuses.
	off := newSpaceGuard(dir, 0, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err := off.check(); err != nil {
		t.Fatal(err)
	}
}
