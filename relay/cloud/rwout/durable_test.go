package rwout

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// TestDeliverSharesTheBarrier: where syncfs works, a block is made durable
// by the barrier of the queue's filesystem (one Sync per Deliver, shared
// with the cloud's other writers), the queue syncing nothing itself; a
// block delivered again waits for a barrier too, since its first delivery
// may have failed at one. What was queued is there after a restart.
func TestDeliverSharesTheBarrier(t *testing.T) {
	dir := t.TempDir()
	br, err := fsutil.BarrierFor(dir, syncWindow)
	if err != nil {
		t.Fatal(err)
	}
	if !br.Syncfs() {
		t.Skip("no syncfs here: the queue syncs its own writes")
	}
	s := &sink{answer: func(*prompb.WriteRequest, *http.Request) int { return 503 }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f, stop := startIn(t, dir, cfg(t, srv.URL, 100), Options{})
	if f.barrier != br {
		t.Fatalf("barrier %p, want the filesystem's %p", f.barrier, br)
	}
	d := deliveryOf("acme", 7, batch(5, 1000))
	for i := range 2 {
		_, w0 := br.Stats()
		if err := f.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		if _, w1 := br.Stats(); w1 != w0+1 {
			t.Fatalf("delivery %d: %d Sync calls on the barrier, want 1", i, w1-w0)
		}
	}
	stop()
	f, _ = startIn(t, dir, cfg(t, srv.URL, 100), Options{})
	if n := f.queue.Stats().Samples; n != 5 {
		t.Fatalf("queue holds %d samples after a restart, want 5", n)
	}
}
