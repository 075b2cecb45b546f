package rwout

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// TestDeliverAll: blocks delivered together are queued in one write and
// made durable by one sync where syncfs works; one already queued is
// skipped; every sample reaches the endpoint once.
func TestDeliverAll(t *testing.T) {
	s := &sink{answer: func(*prompb.WriteRequest, *http.Request) int { return 503 }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f, _ := startIn(t, "", cfg(t, srv.URL, 100), Options{})
	var ds []*output.Delivery
	for i := range 3 {
		d := deliveryOf("acme", uint64(10+i), batch(5, int64(1000*(i+1))))
		ds = append(ds, d)
	}
	if err := f.Deliver(t.Context(), ds[1]); err != nil {
		t.Fatal(err)
	}
	var w0 uint64
	if f.barrier != nil {
		_, w0 = f.barrier.Stats()
	}
	if err := f.DeliverAll(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	if f.barrier != nil {
		if _, w1 := f.barrier.Stats(); w1 != w0+1 {
			t.Fatalf("%d Sync calls for a group, want 1", w1-w0)
		}
	}
	if st := f.queue.Stats(); st.Samples != 15 {
		t.Fatalf("queue holds %d samples, want 15 (three blocks of 5, the repeat skipped)", st.Samples)
	}
	s.mu.Lock()
	s.answer = nil
	s.mu.Unlock()
	waitEmpty(t, f, 20*time.Second)
	got := s.samples()
	if len(got) != 15 {
		t.Fatalf("received %d series, want 15: %v", len(got), got)
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("%s received %d times", k, n)
		}
	}
}
