package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/builtin"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// nodeScrape returns n node_exporter-like series, labels as a scrape has
// them after target labels are attached.
func nodeScrape(n int, gen int) []relay.Series {
	families := []string{"node_cpu_seconds_total", "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
		"node_filesystem_avail_bytes", "node_disk_io_time_seconds_total", "node_softnet_processed_total", "go_gc_duration_seconds"}
	modes := []string{"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"}
	out := make([]relay.Series, n)
	for i := range out {
		out[i] = relay.Series{
			Labels: labels.FromStrings("__name__", families[i%len(families)], "job", "node", "instance", "edge-host-17.plant-7.example:9100",
				"device", fmt.Sprintf("dev%d", i/len(families)/len(modes)), "mode", modes[(i/len(families))%len(modes)], "gen", fmt.Sprint(gen)),
			Samples: []relay.Sample{{T: 1700000000000, V: float64(i)}},
		}
	}
	return out
}

// benchTarget is the labels of nodeScrape's target.
var benchTarget = labels.FromStrings("instance", "edge-host-17.plant-7.example:9100", "job", "node")

func benchStages(tb testing.TB, dir string) []config.PluginConfig {
	module := func(name string) string {
		if dir == "" {
			return "builtin:" + name
		}
		// A file path makes the host treat the module as untrusted: it
		// runs under the bound the benchmark chooses.
		b, _ := builtin.Lookup(name)
		p := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	return []config.PluginConfig{
		stageConf(tb, "relabel", module("relabel"), `
relabel_configs:
  - {source_labels: [__name__], regex: 'node_(cpu|disk)_.*', target_label: subsystem, replacement: '$1'}
  - {regex: gen, action: labeldrop}
  - {source_labels: [instance], regex: '([^.]+)\..*', target_label: host}`),
		stageConf(tb, "anonymize", module("anonymize"), `{labels: [instance, host], key: bench-key}`),
		stageConf(tb, "filter", module("filter"), `{drop: ['{__name__=~"go_.*"}']}`),
	}
}

// benchModes are the ways the benchmark chain runs: the built-ins trusted
// (no CPU bound), and loaded from files as untrusted modules under each bound.
var benchModes = []struct {
	name      string
	untrusted bool
	bound     cpuBound
}{
	{"trusted", false, boundFuel},
	{"fuel", true, boundFuel},
	{"close-on-context-done", true, boundCloseOnDone},
}

// BenchmarkChainSteady is relabel+anonymize+filter on a 10k-series scrape
// with 1% of the series replaced by new ones at every scrape.
func BenchmarkChainSteady(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			dir := ""
			if mode.untrusted {
				dir = b.TempDir()
			}
			c := newBoundChain(b, mode.bound, benchStages(b, dir)...)
			const n, churn = 10000, 100
			base := nodeScrape(n, 0)
			batch := &relay.Batch{Scrape: true, Job: "node", Instance: "edge-host-17.plant-7.example:9100"}
			run := func(gen int) {
				// The chain rewrites the batch's identity: start each scrape
				// from the target's own, as the scrape appender does.
				batch.Job, batch.Instance, batch.TargetLabels = "node", "edge-host-17.plant-7.example:9100", benchTarget
				batch.Series = append(batch.Series[:0], base...)
				fresh := nodeScrape(churn, gen) // 1% churn: new label sets
				copy(batch.Series[(gen*churn)%(n-churn):], fresh)
				if err := c.Process(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			run(1) // warm the memo
			b.ResetTimer()
			for i := range b.N {
				run(i + 2)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
		})
	}
}

// BenchmarkChainNewSeries sends only label sets the chain has not seen.
func BenchmarkChainNewSeries(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			dir := ""
			if mode.untrusted {
				dir = b.TempDir()
			}
			c := newBoundChain(b, mode.bound, benchStages(b, dir)...)
			const n = 1000
			batches := make([][]relay.Series, b.N)
			for i := range batches {
				batches[i] = nodeScrape(n, i+1)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := c.Process(context.Background(), &relay.Batch{Series: batches[i]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/new-series")
		})
	}
}

// BenchmarkChainNoChurn is the memo-hit path alone: 10k known series.
func BenchmarkChainNoChurn(b *testing.B) {
	c := newTestChain(b, nil, benchStages(b, "")...)
	base := nodeScrape(10000, 0)
	batch := &relay.Batch{Scrape: true, Job: "node", Instance: "edge-host-17.plant-7.example:9100"}
	b.ReportAllocs()
	for i := range b.N + 1 {
		if i == 1 {
			b.ResetTimer()
		}
		batch.Job, batch.Instance, batch.TargetLabels = "node", "edge-host-17.plant-7.example:9100", benchTarget
		batch.Series = append(batch.Series[:0], base...)
		if err := c.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(base)), "ns/sample")
}

// BenchmarkHostileLoopStop measures how long past its 10ms deadline an
// infinite loop keeps Process busy (stop latency), instance rebuild
// included, under each CPU bound.
func BenchmarkHostileLoopStop(b *testing.B) {
	const timeout = 10 * time.Millisecond
	for _, mode := range benchModes[1:] {
		b.Run(mode.name, func(b *testing.B) {
			pc := stageConf(b, "loop", "testdata/loop.wasm", "")
			pc.Limits.Timeout = timeout
			var total time.Duration
			for i := range b.N {
				c := newBoundChain(b, mode.bound, pc) // a fresh chain: never quarantined
				start := time.Now()
				_ = c.Process(context.Background(), batchOf(labels.FromStrings("__name__", "x", "i", fmt.Sprint(i))))
				total += time.Since(start) - timeout
				c.Close(context.Background())
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-past-deadline")
		})
	}
}
