package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/synth"
)

// BenchmarkScrapeLoop is the own scrape loop's side of a steady scrape of
// one synthetic target (relay/synth, about 2 samples per series and
// family): parse, cache, staleness, report series and the batch, submitted
// to a sink that takes it at once and lets the loop reuse its memory, as
// the edge does. The body is in memory (no HTTP). held-B/series is the
// heap the loop keeps between scrapes (cache and batch memory) per
// exposed series; cpu-ns/sample is the process's CPU time (user+system,
// the collector included) per sample, steadier than ns/sample on a
// loaded machine.
func BenchmarkScrapeLoop(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) { benchLoop(b, n) })
	}
}

func synthBody(b *testing.B, tg *synth.Target) []byte {
	rec := httptest.NewRecorder()
	tg.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchLoop(b *testing.B, n int) {
	tg := &synth.Target{Series: n}
	bodies := [][]byte{synthBody(b, tg), synthBody(b, tg)}
	pc, err := scrapeconf.Load(`scrape_configs: [{job_name: synth, static_configs: [{targets: ["127.0.0.1:9"]}]}]`)
	if err != nil {
		b.Fatal(err)
	}
	cfg := pc.ScrapeConfigs[0]
	lm, err := newLoopMetrics(prometheus.NewRegistry(), prometheus.NewCounter(prometheus.CounterOpts{Name: "i"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "r"}, []string{"reason"}))
	if err != nil {
		b.Fatal(err)
	}
	sink := &countSink{}
	m := &loopManager{sink: sink, log: slog.New(slog.DiscardHandler), metrics: lm, reuse: true}
	p, err := newLoopPool(m, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.stop()
	ts, _ := targetsFromGroup(staticGroupsB(b, cfg)[0], cfg, nil, labels.NewBuilder(labels.EmptyLabels()))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := p.newLoop(ts[0], nil)
	scrapeOnce := func(i int) int {
		t := int64(i+1) * 5000
		total, added, seriesAdded, err := l.appendScrape(bodies[i%2], "text/plain; version=0.0.4", t)
		if err != nil {
			b.Fatal(err)
		}
		l.report(t, reportValues{1, 0.01, float64(total), float64(added), float64(seriesAdded)})
		l.commit()
		return total
	}
	scrapeOnce(0)
	scrapeOnce(1)
	runtime.GC()
	runtime.ReadMemStats(&after)
	samples := scrapeOnce(2)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := range b.N {
		scrapeOnce(i + 3)
	}
	cpu := processCPU() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*samples), "ns/sample")
	b.ReportMetric(float64(cpu)/float64(b.N*samples), "cpu-ns/sample")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(samples), "held-B/series")
	runtime.KeepAlive(l)
}

func staticGroupsB(b *testing.B, cfg *scrapeconf.ScrapeConfig) []*targetgroup.Group {
	out, err := staticGroupsOf(cfg)
	if err != nil || len(out) == 0 {
		b.Fatalf("no static targets: %v", err)
	}
	return out
}

// countSink takes every batch and keeps nothing of it.
type countSink struct{ series int }

func (s *countSink) Submit(_ context.Context, b *relay.Batch) error {
	s.series += len(b.Series)
	return nil
}

// BenchmarkScraperPaths scrapes one synthetic target over HTTP with the
// whole Scraper, without and with extra_scrape_metrics, alternately, and
// reports the process's CPU time per scraped sample (user+system, target
// serving included) over 10 scrapes and the heap held per exposed series
// after them. Single figures move with the machine's load.
func BenchmarkScraperPaths(b *testing.B) {
	for _, n := range []int{10000, 60000} {
		tg := &synth.Target{Series: n}
		bodies := [][]byte{synthBody(b, tg), synthBody(b, tg)}
		for _, extra := range []bool{false, true} {
			b.Run(fmt.Sprintf("series=%d/extra_scrape_metrics=%v", n, extra), func(b *testing.B) {
				for range b.N {
					benchScraperPath(b, bodies, extra)
				}
			})
		}
	}
}

// pathSink counts scrapes and samples as they arrive.
type pathSink struct {
	scrapes, samples atomic.Int64
}

func (s *pathSink) Submit(_ context.Context, b *relay.Batch) error {
	s.samples.Add(int64(b.Samples()))
	s.scrapes.Add(1)
	return nil
}

func benchScraperPath(b *testing.B, bodies [][]byte, extra bool) {
	var k atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(bodies[k.Add(1)%2])
	}))
	defer srv.Close()
	job := fmt.Sprintf(`scrape_configs: [{job_name: synth, scrape_interval: 200ms, scrape_timeout: 190ms, extra_scrape_metrics: %v,
  static_configs: [{targets: [%q]}]}]`, extra, strings.TrimPrefix(srv.URL, "http://"))
	pc, err := scrapeconf.Load(job)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sink := &pathSink{}
	s, err := NewScraper(sink, ScrapeConfig{Configs: pc.ScrapeConfigs, ReuseBatches: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitScrapes := func(n int64) {
		for deadline := time.Now().Add(2 * time.Minute); sink.scrapes.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d scrapes after 2 minutes, want %d", sink.scrapes.Load(), n)
			}
		}
	}
	waitScrapes(3)
	cpu0, samples0 := processCPU(), sink.samples.Load()
	waitScrapes(13)
	cpu1, samples1 := processCPU(), sink.samples.Load()
	runtime.GC()
	runtime.ReadMemStats(&after)
	perScrape := float64(samples1-samples0) / 10
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu1-cpu0)/float64(samples1-samples0), "cpu-ns/sample")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/perScrape, "heap-B/series")
}

// processCPU is the process's user+system CPU time so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
