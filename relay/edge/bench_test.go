package edge

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/store"
)

// BenchmarkCommitScrape measures the edge's path from a scrape batch to a
// synced block in a real queue: identity merged into delta keys, delta
// encoding (1% of values change by more than a counter step), block
// encoding with zstd, and the group commit. It reports ns, bytes and
// allocations per sample.
func BenchmarkCommitScrape(b *testing.B) {
	for _, series := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(series, "series"), func(b *testing.B) {
			c := benchCommitter(b, labels.FromStrings("site", "plant-7"))
			batch := &relay.Batch{Scrape: true, Job: "node", Instance: "gw:9100", Metadata: map[string]relay.Metadata{"node_x": {Type: "counter"}}}
			for i := range series {
				batch.Series = append(batch.Series, relay.Series{
					Labels:  labels.FromStrings("__name__", "node_x", "cpu", fmt.Sprint(i%64), "i", fmt.Sprint(i), "instance", "gw:9100", "job", "node", "mode", "user"),
					Samples: []relay.Sample{{}},
				})
			}
			p := &pending{b: batch, done: make(chan error, 1)}
			ts := int64(1_700_000_000_000)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; b.Loop(); n++ {
				ts += 15000
				batch.Timestamp = ts
				for i := range batch.Series {
					v := float64(n * (i%7 + 1))
					if i%100 == 0 {
						v = float64(n) * 1.37
					}
					batch.Series[i].Samples[0] = relay.Sample{T: ts, V: v}
				}
				c.commit([]*pending{p})
				if err := <-p.done; err != nil {
					b.Fatal(err)
				}
			}
			samples := float64(b.N) * float64(series)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkDeltaEncode measures the delta encoder alone on a steady scrape
// of one target, as BenchmarkCommitScrape feeds it, without the queue: ns,
// bytes and allocations per sample, and the heap it keeps per series after
// a GC (bases, dictionary, keys and scratch: retained-B/series).
func BenchmarkDeltaEncode(b *testing.B) {
	for _, series := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(series, "series"), func(b *testing.B) {
			batch := &relay.Batch{Scrape: true, Job: "node", Instance: "gw:9100", Metadata: map[string]relay.Metadata{"node_x": {Type: "counter"}}}
			for i := range series {
				batch.Series = append(batch.Series, relay.Series{
					Labels:  labels.FromStrings("__name__", "node_x", "cpu", fmt.Sprint(i%64), "i", fmt.Sprint(i), "instance", "gw:9100", "job", "node", "mode", "user"),
					Samples: []relay.Sample{{}},
				})
			}
			before := liveHeap()
			d := newDeltaEncoder(config.Delta{FullEvery: time.Hour}, 0, labels.FromStrings("site", "plant-7"), nil, prometheus.NewRegistry())
			ts := int64(1_700_000_000_000)
			scrape := func(n int) {
				ts += 15000
				batch.Timestamp = ts
				for i := range batch.Series {
					v := float64(n * (i%7 + 1))
					if i%100 == 0 {
						v = float64(n) * 1.37
					}
					batch.Series[i].Samples[0] = relay.Sample{T: ts, V: v}
				}
				frames, whole := d.encode("acme", "plant-7", []*relay.Batch{batch}, 4<<20)
				if len(whole) > 0 || len(d.blocks("acme", "plant-7", frames, 4<<20)) == 0 {
					b.Fatal("scrape not delta-encoded")
				}
			}
			scrape(0) // full frame
			scrape(1)
			retained := float64(liveHeap()-before) / float64(series)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 2; b.Loop(); n++ {
				scrape(n)
			}
			b.ReportMetric(retained, "retained-B/series")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(series)), "ns/sample")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// liveHeap returns the bytes of heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkCommitRemoteWrite measures the edge's path from a decoded
// remote_write request (2000 series of one sample each, as a Prometheus
// sender batches them) to a synced block in a real queue: identity labels
// merged, block encoding with zstd, and the group commit. It reports ns,
// bytes and allocations per sample.
func BenchmarkCommitRemoteWrite(b *testing.B) {
	const series = 2000
	extra := labels.FromStrings("site", "plant-7")
	c := benchCommitter(b, extra)
	lsets := make([]labels.Labels, series)
	for i := range lsets {
		lsets[i] = labels.FromStrings("__name__", "node_x", "cpu", fmt.Sprint(i%64), "i", fmt.Sprint(i), "instance", "gw:9100", "job", "node", "mode", "user")
	}
	ts := int64(1_700_000_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		ts += 15000
		batch := &relay.Batch{Timestamp: ts, Series: make([]relay.Series, series)}
		flat := make([]relay.Sample, series)
		for i := range batch.Series {
			flat[i] = relay.Sample{T: ts, V: float64(n * (i%7 + 1))}
			batch.Series[i] = relay.Series{Labels: lsets[i], Samples: flat[i : i+1 : i+1]}
		}
		addIdentity(batch, extra)
		p := &pending{b: batch, done: make(chan error, 1)}
		c.commit([]*pending{p})
		if err := <-p.done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*series), "ns/sample")
	b.ReportMetric(0, "ns/op")
}

// benchCommitter returns a committer with delta encoding (identity labels
// extra) on a real queue in a temporary directory, closed when b ends.
func benchCommitter(b *testing.B, extra labels.Labels) *committer {
	q, err := store.Open(b.TempDir(), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	reg := prometheus.NewRegistry()
	c := newCommitter(q, "acme", "plant-7", 0, 4<<20, slog.New(slog.DiscardHandler), reg)
	c.delta = newDeltaEncoder(config.Delta{FullEvery: time.Hour}, 0, extra, nil, reg)
	return c
}
