package files

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// BenchmarkWrite writes 10k-series scrapes, fsyncs included, and reports
// time and bytes on disk per sample.
func BenchmarkWrite(b *testing.B) {
	w, err := New(Config{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	batch := &relay.Batch{Scrape: true, Job: "node", Instance: "10.0.0.1:9100",
		Metadata: map[string]relay.Metadata{"node_cpu_seconds_total": {Type: "counter", Help: "CPU."}}}
	for i := range 10000 {
		batch.Series = append(batch.Series, relay.Series{
			Labels: labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(i/8),
				"instance", "10.0.0.1:9100", "job", "node", "mode", "mode"+strconv.Itoa(i%8), "site", "plant-7", "tenant", "acme"),
			Samples: []relay.Sample{{V: float64(i) * 17.5}},
		})
	}
	b.ReportAllocs()
	ts := int64(1700000000000)
	for b.Loop() {
		ts += 15000
		batch.Timestamp = ts
		for i := range batch.Series {
			batch.Series[i].Samples[0].T = ts
			batch.Series[i].Samples[0].V += 3
		}
		if err := w.Write("acme", "plant-7", batch); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * len(batch.Series))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/sample")
	b.ReportMetric(testutil.ToFloat64(w.m.bytes)/n, "disk-bytes/sample")
	b.ReportMetric(0, "ns/op")
}
