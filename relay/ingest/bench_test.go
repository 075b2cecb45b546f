package ingest

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay"
)

// BenchmarkScrapeAppender is the scrape loop's side of a steady scrape of
// one target: every series already in Prometheus' scrape cache (its ref and
// label set from the previous scrape), appended and committed to a sink that
// takes the batch at once. reuse=true is what the edge runs with
// (ScrapeConfig.ReuseBatches).
func BenchmarkScrapeAppender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, reuse := range []bool{false, true} {
			b.Run(fmt.Sprintf("series=%d/reuse=%v", n, reuse), func(b *testing.B) {
				benchAppender(b, n, reuse)
			})
		}
	}
}

// countSink takes every batch and keeps nothing of it.
type countSink struct{ series int }

func (s *countSink) Submit(_ context.Context, b *relay.Batch) error {
	s.series += len(b.Series)
	return nil
}

func benchAppender(b *testing.B, n int, reuse bool) {
	sink := &countSink{}
	a, _ := newTestAppendable(sink)
	a.reuse = reuse
	tl := labels.FromStrings(model.JobLabel, "node", model.InstanceLabel, "127.0.0.1:9100", model.AddressLabel, "127.0.0.1:9100")
	ctx := scrape.ContextWithTarget(context.Background(), scrape.NewTarget(tl, nil, nil, nil))
	sets := make([]labels.Labels, n)
	for i := range sets {
		sets[i] = labels.FromStrings("__name__", "synth_requests_total", "id", fmt.Sprint(i), "instance", "127.0.0.1:9100", "job", "node", "path", "/api/v1/item")
	}
	up := labels.FromStrings("__name__", "up", "instance", "127.0.0.1:9100", "job", "node")
	opts := storage.AOptions{MetricFamilyName: "synth_requests_total", Metadata: metadata.Metadata{Type: model.MetricTypeCounter, Help: "Requests."}}
	upOpts := storage.AOptions{MetricFamilyName: "up" + reportSuffix, Metadata: metadata.Metadata{Type: model.MetricTypeGauge, Help: "Health."}}
	refs := make([]storage.SeriesRef, n)
	var upRef storage.SeriesRef
	scrapeOnce := func(t int64) {
		app := a.AppenderV2(ctx)
		for i, ls := range sets {
			ref, err := app.Append(refs[i], ls, 0, t, float64(t+int64(i)), nil, nil, opts)
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
		}
		ref, err := app.Append(upRef, up, 0, t, 1, nil, nil, upOpts)
		if err != nil {
			b.Fatal(err)
		}
		upRef = ref
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	scrapeOnce(0) // the first scrape fills the cache, as Prometheus' does
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		scrapeOnce(int64(i+1) * 5000)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+1)), "ns/sample")
}
