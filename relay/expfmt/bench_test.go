package expfmt

import (
	"io"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// benchBatch is a scrape of n series shaped like node_exporter's.
func benchBatch(n int) *relay.Batch {
	b := &relay.Batch{Scrape: true, Job: "node", Instance: "10.0.0.1:9100", Timestamp: 1700000000000,
		Metadata: map[string]relay.Metadata{"node_cpu_seconds_total": {Type: "counter", Help: "Seconds the CPUs spent in each mode."}}}
	for i := range n {
		b.Series = append(b.Series, relay.Series{
			Labels: labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(i/8),
				"instance", "10.0.0.1:9100", "job", "node", "mode", "mode"+strconv.Itoa(i%8)),
			Samples: []relay.Sample{{T: 1700000000000, V: float64(i) * 1.25}},
		})
	}
	return b
}

func BenchmarkEncode(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"full", Options{}},
		{"zstats", Options{OmitLabels: []string{"instance", "job"}, OmitDefaultTimestamp: true, DefaultTimestamp: 1700000000000}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			batch := benchBatch(10000)
			var e Encoder
			b.ReportAllocs()
			for b.Loop() {
				if err := e.Encode(io.Discard, batch, tc.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Samples()), "ns/sample")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func TestEncodeSteadyAllocs(t *testing.T) {
	batch := benchBatch(1000)
	var e Encoder
	opts := Options{OmitLabels: []string{"job"}}
	allocs := testing.AllocsPerRun(20, func() {
		if err := e.Encode(io.Discard, batch, opts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("%v allocations per 1000-sample batch, want at most 2", allocs)
	}
}
