package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay"
)

// TestLastErrors: a target answering 500 is listed with Prometheus' error
// text, by its job and instance; a target scraped fine is not; once the
// failing target answers again it leaves the list.
func TestLastErrors(t *testing.T) {
	good := newTarget(t, "text/plain; version=0.0.4", textBody)
	var failing atomic.Bool
	failing.Store(true)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(textBody))
	}))
	t.Cleanup(bad.Close)
	badAddr := strings.TrimPrefix(bad.URL, "http://")
	sink := newRecordingSink()
	s := runScraper(t, sink, prometheus.NewRegistry(), "scrape_configs:"+staticJob("good", good.addr())+staticJob("bad", badAddr))

	down := func(bs []*relay.Batch) bool {
		for _, b := range batchesOf(bs, "bad") {
			if up, ok := find(b, "up"); ok && up.V == 0 {
				return true
			}
		}
		return false
	}
	sink.waitFor(t, 10*time.Second, "a failed scrape of the bad target", down)
	sink.waitFor(t, 10*time.Second, "a scrape of the good target", func(bs []*relay.Batch) bool { return len(batchesOf(bs, "good")) > 0 })
	errs := s.LastErrors()
	if got := errs[TargetID{"bad", badAddr}]; !strings.Contains(got, "500 Internal Server Error") {
		t.Errorf("LastErrors()[bad] = %q, want the HTTP status; all: %v", got, errs)
	}
	if got, ok := errs[TargetID{"good", good.addr()}]; ok {
		t.Errorf("LastErrors() lists the good target: %q", got)
	}

	failing.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for len(s.LastErrors()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("LastErrors() = %v after the target recovered", s.LastErrors())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
