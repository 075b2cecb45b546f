package federate

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// BenchmarkUpdate measures the steady state: every series already held,
// each batch a new scrape of 10k series.
func BenchmarkUpdate(b *testing.B) {
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	batch := &relay.Batch{Metadata: map[string]relay.Metadata{"node_cpu_seconds_total": {Type: "counter", Help: "CPU."}}}
	for i := range 10000 {
		batch.Series = append(batch.Series, relay.Series{
			Labels: labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(i/8),
				"instance", "10.0.0.1:9100", "job", "node", "mode", "mode"+strconv.Itoa(i%8), "site", "plant-7", "tenant", "acme"),
			Samples: []relay.Sample{{T: 1, V: 1}},
		})
	}
	s.Update("acme", batch)
	b.ReportAllocs()
	ts := int64(1)
	for b.Loop() {
		ts++
		for i := range batch.Series {
			batch.Series[i].Samples[0] = relay.Sample{T: ts, V: float64(ts)}
		}
		s.Update("acme", batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Series)), "ns/sample")
	b.ReportMetric(0, "ns/op")
}
