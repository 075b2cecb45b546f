package edge

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/synth"
)

// BenchmarkScrapeCommitMemory is the edge's scrape path in steady state:
// the scraper scrapes one synthetic target (relay/synth, over HTTP on
// loopback; every 250ms per 10k series, the timeout as long) and submits
// each scrape to the committer, which delta-encodes it and appends it to a
// real queue, as Edge.Submit does
// without plugins. After 12 scrapes it reports the heap the path keeps per
// active series: HeapInuse after a collection, less what it was before
// the scraper and committer started, over the scrape's samples
// (inuse-B/series; live-B/series is the same from HeapAlloc), and the
// process's CPU per sample over the last 8 scrapes (cpu-ns/sample).
func BenchmarkScrapeCommitMemory(b *testing.B) {
	for _, n := range []int{10_000, 60_000, 240_000} {
		b.Run(fmt.Sprint("series=", n), func(b *testing.B) {
			for range b.N {
				benchScrapeCommit(b, n)
			}
		})
	}
}

// commitSink hands scrapes to a running committer, counting those of at
// least min samples (a scrape that timed out has only its report).
type commitSink struct {
	c                *committer
	min              int
	scrapes, samples atomic.Int64
}

func (s *commitSink) Submit(ctx context.Context, b *relay.Batch) error {
	if len(b.Series) == 0 {
		return nil
	}
	n := b.Samples()
	if err := s.c.submit(ctx, b); err != nil || n < s.min {
		return err
	}
	s.samples.Add(int64(n))
	s.scrapes.Add(1)
	return nil
}

func benchScrapeCommit(b *testing.B, series int) {
	srv := httptest.NewServer(&synth.Target{Series: series / 2})
	defer srv.Close()
	ms := max(1, series/10_000) * 250
	job := fmt.Sprintf(`scrape_configs: [{job_name: synth, scrape_interval: %dms, scrape_timeout: %[1]dms,
  static_configs: [{targets: [%q]}]}]`, ms, strings.TrimPrefix(srv.URL, "http://"))
	pc, err := scrapeconf.Load(job)
	if err != nil {
		b.Fatal(err)
	}
	before := heapAfterGC()
	c := benchCommitter(b, labels.FromStrings("site", "plant-7"))
	sink := &commitSink{c: c, min: series}
	s, err := ingest.NewScraper(sink, ingest.ScrapeConfig{Configs: pc.ScrapeConfigs, ReuseBatches: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cdone, sdone := make(chan error, 1), make(chan error, 1)
	go func() { cdone <- c.run(ctx) }()
	go func() { sdone <- s.Run(ctx) }()
	wait := func(n int64) {
		for deadline := time.Now().Add(10 * time.Minute); sink.scrapes.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d whole scrapes after 10 minutes, want %d", sink.scrapes.Load(), n)
			}
		}
	}
	wait(4)
	cpu0, samples0, scrapes0 := cpuTime(), sink.samples.Load(), sink.scrapes.Load()
	wait(12)
	cpu1, samples1, scrapes1 := cpuTime(), sink.samples.Load(), sink.scrapes.Load()
	after := heapAfterGC()
	perScrape := float64(samples1-samples0) / float64(scrapes1-scrapes0)
	cancel()
	if err := <-sdone; err != nil {
		b.Fatal(err)
	}
	<-cdone
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/perScrape, "inuse-B/series")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/perScrape, "live-B/series")
	b.ReportMetric(float64(cpu1-cpu0)/float64(samples1-samples0), "cpu-ns/sample")
	b.ReportMetric(0, "ns/op")
}

func heapAfterGC() runtime.MemStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
