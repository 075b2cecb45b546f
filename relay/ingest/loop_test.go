package ingest

import (
	"bytes"
	"compress/gzip"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/sd"
)

// loopTarget serves bodies that the test changes, gzip-compressed when
// asked and gz is set, and records the last request's headers.
type loopTarget struct {
	srv *httptest.Server

	mu     sync.Mutex
	body   string
	ctype  string
	status int
	gz     bool
	header http.Header
}

func newLoopTarget(t *testing.T, body string) *loopTarget {
	lt := &loopTarget{body: body, ctype: "text/plain; version=0.0.4", status: 200}
	lt.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lt.mu.Lock()
		defer lt.mu.Unlock()
		lt.header = r.Header.Clone()
		w.Header().Set("Content-Type", lt.ctype)
		b := []byte(lt.body)
		if lt.gz && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.WriteHeader(lt.status)
		w.Write(b)
	}))
	t.Cleanup(lt.srv.Close)
	return lt
}

func (lt *loopTarget) set(f func(*loopTarget)) {
	lt.mu.Lock()
	f(lt)
	lt.mu.Unlock()
}

func (lt *loopTarget) addr() string { return strings.TrimPrefix(lt.srv.URL, "http://") }

// testLoop builds the own loop's pool for the one job in yaml (its
// static targets) and the loop of its first target; the test calls
// scrapeAndReport itself, so no timer runs.
func testLoop(t *testing.T, yaml string) (*targetLoop, *loopPool, *recordingSink, *loopMetrics) {
	t.Helper()
	cfgs := scrapeConfigs(t, "scrape_configs:"+yaml)
	sink := newRecordingSink()
	reg := prometheus.NewRegistry()
	ctr := prometheus.NewCounter(prometheus.CounterOpts{Name: "ingested"})
	rej := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rejected"}, []string{"reason"})
	lm, err := newLoopMetrics(reg, ctr, rej)
	if err != nil {
		t.Fatal(err)
	}
	m := &loopManager{sink: sink, log: slog.New(slog.DiscardHandler), metrics: lm}
	p, err := newLoopPool(m, cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	groups, err := staticGroupsOf(cfgs[0])
	if err != nil || len(groups) == 0 {
		t.Fatalf("static groups: %v", err)
	}
	ts, failures := targetsFromGroup(groups[0], cfgs[0], nil, labels.NewBuilder(labels.EmptyLabels()))
	if len(failures) > 0 || len(ts) == 0 {
		t.Fatalf("targets: %v", failures)
	}
	return p.newLoop(ts[0], nil), p, sink, lm
}

// staticGroupsOf returns the groups of job cfg's static_configs.
func staticGroupsOf(cfg *scrapeconf.ScrapeConfig) ([]*targetgroup.Group, error) {
	var out []*targetgroup.Group
	for _, c := range cfg.Configs() {
		if sc, ok := c.(sd.StaticConfig); ok {
			out = append(out, sc...)
		}
	}
	return out, nil
}

func loopJob(addr string, extra ...string) string {
	s := `
- job_name: j
  scrape_interval: 200ms
  scrape_timeout: 150ms
  static_configs: [{targets: [` + addr + `], labels: {site: lab}}]
`
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	return s
}

// scrapeAt runs one scrape at ms and returns its batch.
func scrapeAt(t *testing.T, l *targetLoop, sink *recordingSink, ms int64) *relay.Batch {
	t.Helper()
	n := len(sink.all())
	l.scrapeAndReport(time.UnixMilli(ms))
	bs := sink.all()
	if len(bs) != n+1 {
		t.Fatalf("scrape at %d: %d batches submitted, want 1", ms, len(bs)-n)
	}
	return bs[n]
}

func isStale(s relay.Sample) bool { return math.Float64bits(s.V) == value.StaleNaN }

func report(t *testing.T, b *relay.Batch, name string) float64 {
	t.Helper()
	s, ok := find(b, name)
	if !ok {
		t.Fatalf("no %s in batch", name)
	}
	return s.V
}

func TestLoopScrape(t *testing.T) {
	lt := newLoopTarget(t, textBody)
	l, _, sink, _ := testLoop(t, loopJob(lt.addr()))
	b := scrapeAt(t, l, sink, 1000)
	if !b.Scrape || b.Job != "j" || b.Instance != lt.addr() || b.Timestamp != 1000 {
		t.Fatalf("batch header: %+v", b)
	}
	if s, ok := find(b, "edge_temp_celsius", "room", "b", "site", "lab", "job", "j"); !ok || s.V != -3.25 || s.T != 1000 {
		t.Errorf("edge_temp_celsius{room=b} = %+v (found %v)", s, ok)
	}
	if want := labels.FromStrings("instance", lt.addr(), "job", "j", "site", "lab"); !labels.Equal(b.TargetLabels, want) {
		t.Errorf("target labels %s, want %s", b.TargetLabels, want)
	}
	if got := b.Metadata["up"]; got != upMetadata {
		t.Errorf("metadata up = %+v", got)
	}
	if got := b.Metadata["edge_temp_celsius"]; got.Type != "gauge" || got.Help != "Room temperature." {
		t.Errorf("metadata edge_temp_celsius = %+v", got)
	}
	for name, want := range map[string]float64{"up": 1, "scrape_samples_scraped": 3, "scrape_samples_post_metric_relabeling": 3, "scrape_series_added": 3} {
		if got := report(t, b, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := lt.header.Get("Accept"); !strings.HasPrefix(got, "application/openmetrics-text;version=1.0.0;escaping=") {
		t.Errorf("Accept = %q", got)
	}
	b2 := scrapeAt(t, l, sink, 2000)
	if got := report(t, b2, "scrape_series_added"); got != 0 {
		t.Errorf("second scrape: scrape_series_added = %v, want 0", got)
	}
	if len(b2.Series) != len(b.Series) {
		t.Errorf("second scrape: %d series, first %d", len(b2.Series), len(b.Series))
	}
}

func TestLoopStaleOnVanish(t *testing.T) {
	lt := newLoopTarget(t, textBody)
	l, _, sink, _ := testLoop(t, loopJob(lt.addr()))
	scrapeAt(t, l, sink, 1000)
	lt.set(func(lt *loopTarget) {
		lt.body = strings.ReplaceAll(textBody, `edge_temp_celsius{room="b"} -3.25`+"\n", "")
	})
	b := scrapeAt(t, l, sink, 2000)
	if s, ok := find(b, "edge_temp_celsius", "room", "b"); !ok || !isStale(s) || s.T != 2000 {
		t.Errorf("room b = %+v (found %v), want a staleness marker at 2000", s, ok)
	}
	if s, ok := find(b, "edge_temp_celsius", "room", "a"); !ok || s.V != 21.5 {
		t.Errorf("room a = %+v (found %v)", s, ok)
	}
	b = scrapeAt(t, l, sink, 3000)
	if _, ok := find(b, "edge_temp_celsius", "room", "b"); ok {
		t.Error("room b marked stale twice")
	}
	// A failed scrape marks everything stale, and says up=0.
	lt.set(func(lt *loopTarget) { lt.status = 500 })
	b = scrapeAt(t, l, sink, 4000)
	if s, ok := find(b, "edge_temp_celsius", "room", "a"); !ok || !isStale(s) {
		t.Errorf("room a after a failed scrape = %+v (found %v), want stale", s, ok)
	}
	if got := report(t, b, "up"); got != 0 {
		t.Errorf("up = %v after HTTP 500, want 0", got)
	}
}

func TestLoopStaleOnTargetRemoval(t *testing.T) {
	lt := newLoopTarget(t, textBody)
	_, p, sink, _ := testLoop(t, loopJob(lt.addr()))
	groups, err := staticGroupsOf(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.sync(groups)
	sink.waitFor(t, 10*time.Second, "a scrape", func(bs []*relay.Batch) bool { return len(bs) > 0 })
	p.sync(nil) // the target is gone
	n := len(sink.all())
	bs := sink.waitFor(t, 10*time.Second, "end-of-run staleness markers", func(bs []*relay.Batch) bool {
		for _, b := range bs[n:] {
			if s, ok := find(b, "up"); ok && isStale(s) {
				return true
			}
		}
		return false
	})
	b := bs[len(bs)-1]
	for _, name := range []string{"edge_temp_celsius", "edge_requests_total", "scrape_series_added"} {
		if s, ok := find(b, name); !ok || !isStale(s) {
			t.Errorf("%s = %+v (found %v), want stale", name, s, ok)
		}
	}
}

func TestLoopLimits(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
	}{
		{"sample_limit", "sample_limit: 2"},
		{"label_limit", "label_limit: 3"},
		{"label_name_length_limit", "label_name_length_limit: 3"},
		{"label_value_length_limit", "label_value_length_limit: 2"},
		{"body_size_limit", "body_size_limit: 100B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt := newLoopTarget(t, textBody)
			l, _, sink, _ := testLoop(t, loopJob(lt.addr(), tc.extra))
			b := scrapeAt(t, l, sink, 1000)
			if got := report(t, b, "up"); got != 0 {
				t.Errorf("up = %v, want 0", got)
			}
			if _, ok := find(b, "edge_temp_celsius", "room", "a"); ok {
				t.Error("a sample of the failed scrape was kept")
			}
			if want := len(loopReport) - extraReports; len(b.Series) != want {
				t.Errorf("%d series, want only the %d report series", len(b.Series), want)
			}
		})
	}
	// Within the limits nothing fails.
	lt := newLoopTarget(t, textBody)
	l, _, sink, _ := testLoop(t, loopJob(lt.addr(), "sample_limit: 3", "label_limit: 5", "body_size_limit: 1KiB"))
	if got := report(t, scrapeAt(t, l, sink, 1000), "up"); got != 1 {
		t.Errorf("within limits: up = %v", got)
	}
}

func TestLoopHonorLabels(t *testing.T) {
	body := "m{job=\"exposed\",x=\"1\"} 5 1234\n"
	for _, tc := range []struct {
		extra         []string
		job, exported string
		t             int64
	}{
		{nil, "j", "exposed", 1234},
		{[]string{"honor_labels: true"}, "exposed", "", 1234},
		{[]string{"honor_timestamps: false"}, "j", "exposed", 9000},
	} {
		lt := newLoopTarget(t, body)
		l, _, sink, _ := testLoop(t, loopJob(lt.addr(), tc.extra...))
		b := scrapeAt(t, l, sink, 9000)
		s, ok := find(b, "m", "job", tc.job, "exported_job", tc.exported, "x", "1")
		if !ok || s.V != 5 || s.T != tc.t {
			t.Errorf("%v: m = %+v (found %v), want job=%q exported_job=%q at %d; batch %v", tc.extra, s, ok, tc.job, tc.exported, tc.t, b.Series)
		}
	}
}

func TestLoopGzip(t *testing.T) {
	lt := newLoopTarget(t, textBody)
	lt.gz = true
	l, _, sink, _ := testLoop(t, loopJob(lt.addr()))
	for i := range 3 { // the gzip reader is reused
		b := scrapeAt(t, l, sink, int64(i+1)*1000)
		if s, ok := find(b, "edge_requests_total"); !ok || s.V != 42 {
			t.Fatalf("scrape %d: edge_requests_total = %+v (found %v)", i, s, ok)
		}
	}
	if got := lt.header.Get("Accept-Encoding"); got != "gzip" {
		t.Errorf("Accept-Encoding = %q, want gzip", got)
	}
	l2, _, sink2, _ := testLoop(t, loopJob(lt.addr(), "enable_compression: false"))
	scrapeAt(t, l2, sink2, 1000)
	if got := lt.header.Get("Accept-Encoding"); got != "identity" {
		t.Errorf("enable_compression false: Accept-Encoding = %q, want identity", got)
	}
}

func TestLoopMetricRelabel(t *testing.T) {
	lt := newLoopTarget(t, textBody)
	l, _, sink, _ := testLoop(t, loopJob(lt.addr(),
		"metric_relabel_configs: [{source_labels: [room], regex: b, action: drop}, {regex: room, action: labeldrop}]"))
	for i := range 2 {
		b := scrapeAt(t, l, sink, int64(i+1)*1000)
		if got := report(t, b, "scrape_samples_post_metric_relabeling"); got != 2 {
			t.Errorf("scrape %d: post relabelling = %v, want 2", i, got)
		}
		if s, ok := find(b, "edge_temp_celsius"); !ok || s.V != 21.5 {
			t.Errorf("scrape %d: edge_temp_celsius = %+v (found %v)", i, s, ok)
		}
	}
}

// TestLoopExtraScrapeMetrics: extra_scrape_metrics adds
// scrape_timeout_seconds, scrape_sample_limit and scrape_body_size_bytes
// (the body's size; -1 when body_size_limit failed the scrape, 0 when it
// failed otherwise), as Prometheus does; a job without it has none of them.
func TestLoopExtraScrapeMetrics(t *testing.T) {
	lt := newLoopTarget(t, textBody)
	l, _, sink, _ := testLoop(t, loopJob(lt.addr(), "extra_scrape_metrics: true", "sample_limit: 50"))
	b := scrapeAt(t, l, sink, 1000)
	for name, want := range map[string]float64{"scrape_timeout_seconds": 0.15, "scrape_sample_limit": 50, "scrape_body_size_bytes": float64(len(textBody))} {
		if got := report(t, b, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if b.Metadata["scrape_body_size_bytes"].Unit != "bytes" {
		t.Errorf("metadata %+v", b.Metadata["scrape_body_size_bytes"])
	}
	lt.set(func(lt *loopTarget) { lt.status = http.StatusInternalServerError })
	if got := report(t, scrapeAt(t, l, sink, 2000), "scrape_body_size_bytes"); got != 0 {
		t.Errorf("after HTTP 500: scrape_body_size_bytes = %v, want 0", got)
	}

	lt.set(func(lt *loopTarget) { lt.status = http.StatusOK })
	l, _, sink, _ = testLoop(t, loopJob(lt.addr(), "extra_scrape_metrics: true", "body_size_limit: 10B"))
	if got := report(t, scrapeAt(t, l, sink, 1000), "scrape_body_size_bytes"); got != -1 {
		t.Errorf("over body_size_limit: scrape_body_size_bytes = %v, want -1", got)
	}

	l, _, sink, _ = testLoop(t, loopJob(lt.addr()))
	b = scrapeAt(t, l, sink, 1000)
	for _, name := range []string{"scrape_timeout_seconds", "scrape_sample_limit", "scrape_body_size_bytes"} {
		if _, ok := find(b, name); ok {
			t.Errorf("a job without extra_scrape_metrics has %s", name)
		}
	}
}

// TestLoopBatchGenerationWraps: the batch numbers a target's cache gives
// out wrap around after 2^32 scrapes; a series last slotted in a batch
// whose number comes round again must not find the slot of another
// series there, but a slot of its own.
func TestLoopBatchGenerationWraps(t *testing.T) {
	c := newSeriesCache()
	b := loopBatch{cache: c}
	old := c.add([]byte("old"), c.series(labels.FromStrings("__name__", "old")), true).s
	other := c.add([]byte("other"), c.series(labels.FromStrings("__name__", "other")), true).s
	b.reset()
	b.slot(old)
	c.gen = math.MaxUint32 - 1 // 2^32 - 2 scrapes later
	b.reset()
	b.reset() // wraps: numbers start again from 1, old's own number
	b.slot(other)
	if got := b.slot(old).Labels; !labels.Equal(got, old.lset) {
		t.Fatalf("series old got the slot of %v", got)
	}
	if len(b.series) != 2 {
		t.Fatalf("%d series in the batch, want 2", len(b.series))
	}
}
