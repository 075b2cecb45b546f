package ingest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	// http_sd_configs, as relay/config registers it for the edge.
	_ "github.com/prometheus/prometheus/discovery/http"

	"github.com/edgerelay/edgerelay/relay"
)

// TestScrapeHTTPSD: a job with http_sd_configs scrapes the targets a local
// HTTP server lists, with the group's labels, and follows the list when it
// changes.
func TestScrapeHTTPSD(t *testing.T) {
	one := newTarget(t, "text/plain; version=0.0.4", textBody)
	two := newTarget(t, "text/plain; version=0.0.4", textBody)
	var list atomic.Value
	list.Store(fmt.Sprintf(`[{"targets": [%q], "labels": {"rack": "r7"}}]`, one.addr()))
	var asked atomic.Int64
	sdSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(list.Load().(string)))
	}))
	t.Cleanup(sdSrv.Close)

	sink := newRecordingSink()
	runScraper(t, sink, prometheus.NewRegistry(), fmt.Sprintf(`
scrape_configs:
- job_name: httpsd
  scrape_interval: 200ms
  scrape_timeout: 150ms
  http_sd_configs: [{url: %q, refresh_interval: 1s}]
`, sdSrv.URL))
	b := sink.waitFor(t, 20*time.Second, "a scrape of the http_sd target", func(bs []*relay.Batch) bool { return len(bs) >= 1 })[0]
	if b.Job != "httpsd" || b.Instance != one.addr() {
		t.Errorf("job/instance = %q/%q", b.Job, b.Instance)
	}
	if want := labels.FromStrings("instance", one.addr(), "job", "httpsd", "rack", "r7"); !labels.Equal(b.TargetLabels, want) {
		t.Errorf("target labels %s, want %s", b.TargetLabels, want)
	}

	list.Store(fmt.Sprintf(`[{"targets": [%q], "labels": {"rack": "r8"}}]`, two.addr()))
	sink.waitFor(t, 30*time.Second, "a scrape of the second listed target", func(bs []*relay.Batch) bool {
		for _, b := range bs {
			if b.Instance == two.addr() && b.TargetLabels.Get("rack") == "r8" {
				return true
			}
		}
		return false
	})
	if asked.Load() < 2 {
		t.Errorf("the list was asked for %d times", asked.Load())
	}
}
