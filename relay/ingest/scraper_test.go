package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

const textBody = `# HELP edge_temp_celsius Room temperature.
# TYPE edge_temp_celsius gauge
edge_temp_celsius{room="a"} 21.5
edge_temp_celsius{room="b"} -3.25
# HELP edge_requests_total Requests served.
# TYPE edge_requests_total counter
edge_requests_total 42
`

const openMetricsBody = `# HELP edge_jobs Jobs done.
# TYPE edge_jobs counter
edge_jobs_total{kind="x"} 7.0
# HELP edge_queue_bytes Queue size.
# TYPE edge_queue_bytes gauge
# UNIT edge_queue_bytes bytes
edge_queue_bytes 1024.0
# EOF
`

// target serves a body with a content type; the body can be changed.
type target struct {
	srv  *httptest.Server
	mu   sync.Mutex
	body string
}

func newTarget(t *testing.T, contentType, body string) *target {
	tg := &target{body: body}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		tg.mu.Lock()
		b := tg.body
		tg.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(b))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func (tg *target) set(body string) {
	tg.mu.Lock()
	tg.body = body
	tg.mu.Unlock()
}

func (tg *target) addr() string { return strings.TrimPrefix(tg.srv.URL, "http://") }

// scrapeConfigs loads scrape configs the way the edge does: config.Load.
func scrapeConfigs(t *testing.T, yaml string) []*scrapeconf.ScrapeConfig {
	t.Helper()
	c, err := scrapeconf.Load(yaml)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	return c.ScrapeConfigs
}

func staticJob(job, addr string) string {
	return fmt.Sprintf(`
- job_name: %s
  scrape_interval: 200ms
  scrape_timeout: 150ms
  static_configs: [{targets: [%q], labels: {site: lab}}]
`, job, addr)
}

// runScraper starts a Scraper over yaml and stops it at cleanup.
func runScraper(t *testing.T, sink Sink, reg prometheus.Registerer, yaml string) *Scraper {
	t.Helper()
	s, err := NewScraper(sink, ScrapeConfig{Configs: scrapeConfigs(t, yaml), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return s
}

// find returns the value of the series with that name and label subset in b.
func find(b *relay.Batch, name string, kv ...string) (relay.Sample, bool) {
	for _, s := range b.Series {
		if s.Labels.Get("__name__") != name {
			continue
		}
		ok := true
		for i := 0; i < len(kv); i += 2 {
			ok = ok && s.Labels.Get(kv[i]) == kv[i+1]
		}
		if ok && len(s.Samples) == 1 {
			return s.Samples[0], true
		}
	}
	return relay.Sample{}, false
}

func batchesOf(bs []*relay.Batch, job string) []*relay.Batch {
	var out []*relay.Batch
	for _, b := range bs {
		if b.Job == job {
			out = append(out, b)
		}
	}
	return out
}

func TestScrapeText(t *testing.T) {
	tg := newTarget(t, "text/plain; version=0.0.4; charset=utf-8", textBody)
	sink := newRecordingSink()
	reg := prometheus.NewRegistry()
	start := time.Now()
	runScraper(t, sink, reg, "scrape_configs:"+staticJob("text", tg.addr()))

	bs := sink.waitFor(t, 10*time.Second, "two scrapes", func(bs []*relay.Batch) bool { return len(bs) >= 2 })
	t.Logf("first scrape batch after %v", time.Since(start))
	b := bs[0]
	if !b.Scrape || b.Job != "text" || b.Instance != tg.addr() {
		t.Fatalf("batch header: scrape=%v job=%q instance=%q", b.Scrape, b.Job, b.Instance)
	}
	want := map[string]float64{"a": 21.5, "b": -3.25}
	for room, v := range want {
		s, ok := find(b, "edge_temp_celsius", "room", room, "job", "text", "instance", tg.addr(), "site", "lab")
		if !ok || s.V != v || s.T != b.Timestamp {
			t.Errorf("edge_temp_celsius{room=%q} = %+v (found %v), want %v at %d", room, s, ok, v, b.Timestamp)
		}
	}
	if s, ok := find(b, "edge_requests_total"); !ok || s.V != 42 {
		t.Errorf("edge_requests_total = %+v (found %v)", s, ok)
	}
	if got := b.Metadata["edge_temp_celsius"]; got.Type != "gauge" || got.Help != "Room temperature." {
		t.Errorf("metadata edge_temp_celsius = %+v", got)
	}
	if got := b.Metadata["edge_requests_total"]; got.Type != "counter" || got.Help != "Requests served." {
		t.Errorf("metadata edge_requests_total = %+v", got)
	}
	if got := b.Metadata["up"]; got.Type != "gauge" {
		t.Errorf("metadata up = %+v", got)
	}
	for _, name := range []string{"scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"} {
		if _, ok := find(b, name, "job", "text"); !ok {
			t.Errorf("report series %s missing", name)
		}
	}
	if s, ok := find(b, "up", "job", "text", "instance", tg.addr()); !ok || s.V != 1 || s.T != b.Timestamp {
		t.Errorf("up = %+v (found %v), want 1 at %d", s, ok, b.Timestamp)
	}
	if s, _ := find(b, "scrape_samples_scraped"); s.V != 3 {
		t.Errorf("scrape_samples_scraped = %v, want 3", s.V)
	}
	// The target's labels are those of its up series: no discovered labels.
	if want := labels.FromStrings("instance", tg.addr(), "job", "text", "site", "lab"); !labels.Equal(b.TargetLabels, want) {
		t.Errorf("target labels %s, want %s", b.TargetLabels, want)
	}
	if bs[1].Timestamp <= b.Timestamp {
		t.Errorf("second scrape at %d, first at %d", bs[1].Timestamp, b.Timestamp)
	}
	if got := metrictest.Value(t, reg, "edgerelay_ingested_samples_total", "source", "scrape"); got < float64(b.Samples()+bs[1].Samples()) {
		t.Errorf("ingested = %v, want >= %d", got, b.Samples()+bs[1].Samples())
	}
}

func TestScrapeOpenMetrics(t *testing.T) {
	tg := newTarget(t, "application/openmetrics-text; version=1.0.0; charset=utf-8", openMetricsBody)
	sink := newRecordingSink()
	runScraper(t, sink, prometheus.NewRegistry(), "scrape_configs:"+staticJob("om", tg.addr()))

	b := sink.waitFor(t, 10*time.Second, "a scrape", func(bs []*relay.Batch) bool { return len(bs) >= 1 })[0]
	if s, ok := find(b, "edge_jobs_total", "kind", "x"); !ok || s.V != 7 {
		t.Errorf("edge_jobs_total = %+v (found %v)", s, ok)
	}
	if s, ok := find(b, "edge_queue_bytes"); !ok || s.V != 1024 {
		t.Errorf("edge_queue_bytes = %+v (found %v)", s, ok)
	}
	if got, want := b.Metadata["edge_jobs"], (relay.Metadata{Type: "counter", Help: "Jobs done."}); got != want {
		t.Errorf("metadata edge_jobs = %+v, want %+v", got, want)
	}
	if got, want := b.Metadata["edge_queue_bytes"], (relay.Metadata{Type: "gauge", Help: "Queue size.", Unit: "bytes"}); got != want {
		t.Errorf("metadata edge_queue_bytes = %+v, want %+v", got, want)
	}
	if s, ok := find(b, "up"); !ok || s.V != 1 {
		t.Errorf("up = %+v (found %v)", s, ok)
	}
}

func TestScrapeDeadTarget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	sink := newRecordingSink()
	runScraper(t, sink, prometheus.NewRegistry(), "scrape_configs:"+staticJob("dead", addr))

	b := sink.waitFor(t, 10*time.Second, "a failed scrape", func(bs []*relay.Batch) bool { return len(bs) >= 1 })[0]
	if b.Job != "dead" || b.Instance != addr {
		t.Errorf("job/instance = %q/%q", b.Job, b.Instance)
	}
	if s, ok := find(b, "up", "job", "dead", "instance", addr); !ok || s.V != 0 {
		t.Errorf("up = %+v (found %v), want 0", s, ok)
	}
	if s, _ := find(b, "scrape_samples_scraped"); s.V != 0 {
		t.Errorf("scrape_samples_scraped = %v, want 0", s.V)
	}
}

func TestScrapeStaleMarkers(t *testing.T) {
	tg := newTarget(t, "text/plain; version=0.0.4", textBody)
	sink := newRecordingSink()
	runScraper(t, sink, prometheus.NewRegistry(), "scrape_configs:"+staticJob("stale", tg.addr()))
	sink.waitFor(t, 10*time.Second, "a scrape", func(bs []*relay.Batch) bool { return len(bs) >= 1 })
	tg.set(strings.ReplaceAll(textBody, `edge_temp_celsius{room="b"} -3.25`+"\n", ""))

	sink.waitFor(t, 10*time.Second, "a stale marker for room b", func(bs []*relay.Batch) bool {
		for _, b := range bs {
			if s, ok := find(b, "edge_temp_celsius", "room", "b"); ok && math.Float64bits(s.V) == value.StaleNaN {
				if _, still := find(b, "edge_temp_celsius", "room", "a"); !still {
					t.Errorf("stale batch lacks room a")
				}
				return true
			}
		}
		return false
	})
}

func TestScrapeSubmitErrorThenRecovery(t *testing.T) {
	tg := newTarget(t, "text/plain; version=0.0.4", textBody)
	sink := newRecordingSink()
	var failures atomic.Int32
	sink.setFail(func(*relay.Batch) error {
		if failures.Add(1) <= 2 {
			return fmt.Errorf("append: %w", relay.ErrQueueFull)
		}
		return nil
	})
	reg := prometheus.NewRegistry()
	runScraper(t, sink, reg, "scrape_configs:"+staticJob("flaky", tg.addr()))

	b := sink.waitFor(t, 10*time.Second, "a scrape after two refused ones", func(bs []*relay.Batch) bool { return len(bs) >= 1 })[0]
	if s, ok := find(b, "up"); !ok || s.V != 1 {
		t.Errorf("up after recovery = %+v", s)
	}
	if got := metrictest.Value(t, reg, "edgerelay_scrape_rejected_samples_total", "reason", "submit_failed"); got < 2*float64(b.Samples()) {
		t.Errorf("rejected submit_failed = %v, want >= %d", got, 2*b.Samples())
	}
}

func TestScraperApplyConfig(t *testing.T) {
	tgA := newTarget(t, "text/plain; version=0.0.4", textBody)
	tgB := newTarget(t, "text/plain; version=0.0.4", "only_b 1\n")
	sink := newRecordingSink()
	s := runScraper(t, sink, prometheus.NewRegistry(), "scrape_configs:"+staticJob("a", tgA.addr()))
	sink.waitFor(t, 10*time.Second, "job a", func(bs []*relay.Batch) bool { return len(batchesOf(bs, "a")) > 0 })

	if err := s.ApplyConfig(scrapeConfigs(t, "scrape_configs:"+staticJob("b", tgB.addr()))); err != nil {
		t.Fatal(err)
	}
	bs := sink.waitFor(t, 10*time.Second, "job b", func(bs []*relay.Batch) bool { return len(batchesOf(bs, "b")) > 0 })
	if _, ok := find(batchesOf(bs, "b")[0], "only_b"); !ok {
		t.Error("job b batch lacks only_b")
	}
	dup := append(scrapeConfigs(t, "scrape_configs:"+staticJob("b", tgB.addr())), scrapeConfigs(t, "scrape_configs:"+staticJob("b", tgA.addr()))...)
	if err := s.ApplyConfig(dup); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate job names: err = %v", err)
	}
}

func TestScraperRunTwice(t *testing.T) {
	s, err := NewScraper(newRecordingSink(), ScrapeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if err := s.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
	if err := s.ApplyConfig(nil); !errors.Is(err, relay.ErrClosed) {
		t.Errorf("ApplyConfig after Run: %v, want ErrClosed", err)
	}
}

func TestScrapeFileSD(t *testing.T) {
	tg := newTarget(t, "text/plain; version=0.0.4", textBody)
	path := filepath.Join(t.TempDir(), "targets.json")
	sd := fmt.Sprintf(`[{"targets": [%q], "labels": {"rack": "r7"}}]`, tg.addr())
	if err := os.WriteFile(path, []byte(sd), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := newRecordingSink()
	runScraper(t, sink, prometheus.NewRegistry(), fmt.Sprintf(`
scrape_configs:
- job_name: filesd
  scrape_interval: 200ms
  scrape_timeout: 150ms
  file_sd_configs: [{files: [%q], refresh_interval: 1s}]
`, path))
	b := sink.waitFor(t, 10*time.Second, "a scrape of the file_sd target", func(bs []*relay.Batch) bool { return len(bs) >= 1 })[0]
	if b.Job != "filesd" || b.Instance != tg.addr() {
		t.Errorf("job/instance = %q/%q", b.Job, b.Instance)
	}
	if s, ok := find(b, "edge_requests_total", "rack", "r7"); !ok || s.V != 42 {
		t.Errorf("edge_requests_total{rack=r7} = %+v (found %v)", s, ok)
	}
	// Discovered labels (__address__, __meta_filepath, ...) stay at the edge.
	if want := labels.FromStrings("instance", tg.addr(), "job", "filesd", "rack", "r7"); !labels.Equal(b.TargetLabels, want) {
		t.Errorf("target labels %s, want %s", b.TargetLabels, want)
	}
}
