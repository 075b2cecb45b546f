package rwout

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/config"
)

// start builds a forwarder for c with its queue in dir (a new temporary
// directory when empty), runs it, and stops and closes it when the test
// ends (or when the returned stop is called).
func startIn(t *testing.T, dir string, c *config.RemoteWriteConfig, o Options) (*Forwarder, func()) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	f, err := New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Open(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var stopped atomic.Bool
	stop := func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return f, stop
}

func start(t *testing.T, c *config.RemoteWriteConfig, o Options) *Forwarder {
	f, _ := startIn(t, "", c, o)
	return f
}

var seqs atomic.Uint64

// deliver queues batches as one block of tenant acme, site s.
func deliver(t *testing.T, f *Forwarder, bs ...*relay.Batch) {
	t.Helper()
	d := &output.Delivery{Tenant: "acme", Site: "s", QueueID: 1, Seq: seqs.Add(1), Batches: bs}
	if err := f.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// sendWait delivers batches and waits until the queue is empty: the endpoint
// took (or refused) everything.
func sendWait(t *testing.T, f *Forwarder, bs ...*relay.Batch) {
	t.Helper()
	deliver(t, f, bs...)
	waitEmpty(t, f, 30*time.Second)
}

func waitEmpty(t *testing.T, f *Forwarder, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for f.queue.Stats().Blocks > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %d blocks after %v", f.queue.Stats().Blocks, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deliveryOf(tenant string, seq uint64, bs ...*relay.Batch) *output.Delivery {
	return &output.Delivery{Tenant: tenant, Site: "s", QueueID: 9, Seq: seq, Batches: bs}
}
