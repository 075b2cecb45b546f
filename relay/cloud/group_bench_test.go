package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// BenchmarkReceiveRemoteWrite: the cloud's cost per sample of blocks as
// an edge taking a Prometheus sender's remote_write makes them (one block
// per 500-sample request, no delta frames), through the files, a
// remote_write output's queue and /federate (syncs included), handed over
// one by one or in groups of 16, as they arrive while the cloud is busy.
func BenchmarkReceiveRemoteWrite(b *testing.B) {
	for _, group := range []int{1, 16} {
		b.Run(fmt.Sprintf("group=%d", group), func(b *testing.B) { benchReceiveRemoteWrite(b, group) })
	}
}

func benchReceiveRemoteWrite(b *testing.B, group int) {
	dir := b.TempDir()
	cfg, err := config.Parse([]byte("cloud:\n  data_dir: " + dir + "/cloud\n  files_dir: " + dir + "/files\n" +
		"  remote_write: [{url: 'http://127.0.0.1:1/api/v1/write'}]\n"))
	if err != nil {
		b.Fatal(err)
	}
	r, err := newReceiver(cfg.Cloud, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer r.outputs.Close()
	const series = 500
	blockOf := func(n int) []byte {
		bt := &relay.Batch{Timestamp: int64(1_700_000_000_000 + n)}
		for i := range series {
			bt.Series = append(bt.Series, relay.Series{
				Labels: labels.FromStrings("__name__", fmt.Sprint("synth_metric_", i%50), "instance", "127.0.0.1:9100",
					"job", "synth", "l1", fmt.Sprint("a", i%7), "series", fmt.Sprint(n*series+i), "site", "s1"),
				Samples: []relay.Sample{{T: int64(1_700_000_000_000 + 5000*(n/120)), V: float64(i * n)}},
			})
		}
		return block.Encode(nil, &relay.Block{Tenant: "acme", Site: "s1", Batches: []*relay.Batch{bt}})
	}
	n := b.N * group
	blocks := make([]transport.Block, n)
	for i := range blocks {
		blocks[i] = transport.Block{Seq: uint64(i + 1), Data: blockOf(i)}
	}
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}
	runtime.GC()
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i += group {
		if _, err := r.handleGroup(context.Background(), peer, blocks[i:i+group]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	samples := float64(n * series)
	b.ReportMetric(float64(cpuTime()-cpu0)/samples, "cpu-ns/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
	b.ReportMetric(0, "ns/op")
}
