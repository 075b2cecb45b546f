package federate

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
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

// BenchmarkDeliverSites measures the cloud's steady state: one tenant of
// 200 sites of 1,000 series each, every block a new scrape of one site's
// target (the label sets the same from scrape to scrape, as the cloud's
// rebuild gives them).
func BenchmarkDeliverSites(b *testing.B) {
	const sites, series = 200, 1000
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	ds := make([]*output.Delivery, sites)
	for i := range ds {
		site := fmt.Sprintf("site-%05d", i)
		batch := &relay.Batch{Scrape: true, Job: "node", Instance: "127.0.0.1:9100"}
		for j := range series {
			batch.Series = append(batch.Series, relay.Series{
				Labels: labels.FromStrings("__name__", "bench_requests_total", "id", strconv.Itoa(j),
					"instance", "127.0.0.1:9100", "job", "node", "site", site, "tenant", "bench"),
				Samples: []relay.Sample{{T: 1, V: 1}},
			})
		}
		ds[i] = &output.Delivery{Tenant: "bench", Site: site, Batches: []*relay.Batch{batch}}
		s.Deliver(context.Background(), ds[i])
	}
	b.ReportAllocs()
	ts := int64(1)
	for b.Loop() {
		ts++
		for _, d := range ds {
			for i := range d.Batches[0].Series {
				d.Batches[0].Series[i].Samples[0] = relay.Sample{T: ts, V: float64(ts)}
			}
			s.Deliver(context.Background(), d)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sites*series), "ns/sample")
	b.ReportMetric(0, "ns/op")
}
