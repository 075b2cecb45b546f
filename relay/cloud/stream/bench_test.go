package stream

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// bigDelivery is one block of one scrape of n series like node_exporter's.
func bigDelivery(n int) *output.Delivery {
	b := &relay.Batch{Scrape: true, Job: "node", Timestamp: 1700000000000}
	for i := range n {
		b.Series = append(b.Series, relay.Series{
			Labels:  labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i), "instance", "10.0.0.7:9100", "job", "node", "mode", "idle", "site", "plant-7", "tenant", "acme"),
			Samples: []relay.Sample{{T: 1700000000000, V: float64(i) * 1.25}},
		})
	}
	return &output.Delivery{Tenant: "acme", Site: "plant-7", Batches: []*relay.Batch{b}}
}

// BenchmarkCommitted is what the receive path pays per block of 10k
// samples with 0, 1 and 16 subscribers whose goroutines take the blocks.
func BenchmarkCommitted(b *testing.B) {
	d := bigDelivery(10_000)
	for _, subs := range []int{0, 1, 16} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			h := New(Config{BufferSamples: 1 << 30})
			for range subs {
				s := h.subscribe("", [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchEqual, "job", "node")}})
				go func() {
					for q := range s.queue {
						s.held.Add(-q.samples)
					}
				}()
			}
			for b.Loop() {
				h.Committed(d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/sample")
		})
	}
}

// BenchmarkWriteLines is what one subscriber's goroutine pays to match and
// encode a block of 10k samples, all matching.
func BenchmarkWriteLines(b *testing.B) {
	d := bigDelivery(10_000)
	sets := [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchEqual, "job", "node")}}
	var buf []byte
	for b.Loop() {
		buf, _ = appendDelivery(buf[:0], d, sets)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/sample")
	b.ReportMetric(float64(len(buf))/10_000, "bytes/sample")
}
