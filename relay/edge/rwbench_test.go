package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/store"
)

// rwSink is the remote_write part of Edge.Submit: identity labels, then
// the group commit.
type rwSink struct {
	c     *committer
	extra labels.Labels
}

func (s rwSink) Submit(ctx context.Context, b *relay.Batch) error {
	return submitIdentified(ctx, b, s.extra, s.c.submit)
}

// BenchmarkRemoteWriteIngest measures the edge taking remote_write 1.0
// requests as a Prometheus sender makes them (series of one sample, ten
// labels each, snappy), one request after another: the handler's decoding,
// identity labels, block encoding and the synced group commit into a real
// queue. Besides ns/sample (wall time) it reports cpu-ns/sample, the
// process's user and system CPU per sample (getrusage), which a busy
// machine disturbs less, and ms/request, the time a request waits for its
// answer (with the default commit interval in the second case).
//
// The third case is a Prometheus agent's default queue_config sending a
// steady load: 500 samples a request, one request at a time, with the edge
// idle between requests (gap), as at 60k series every 5s (24 requests a
// second). Its CPU per sample includes what an idle edge spends between
// requests and what a request costs on cold caches and sleeping threads;
// ns/sample, wall time with the gaps, means little there. Its collector
// runs at GOGC=25, as in a process running only the edge (cmd/edgerelay),
// unless GOGC is set. Run it with a fixed count, e.g. -benchtime=300x.
func BenchmarkRemoteWriteIngest(b *testing.B) {
	b.Run("series=2000/interval=0", func(b *testing.B) { benchRemoteWrite(b, 2000, 0, 0) })
	b.Run("series=500/interval=5ms", func(b *testing.B) { benchRemoteWrite(b, 500, 5*time.Millisecond, 0) })
	b.Run("series=500/interval=5ms/gap=10ms", func(b *testing.B) { benchRemoteWrite(b, 500, 5*time.Millisecond, 10*time.Millisecond) })
}

func benchRemoteWrite(b *testing.B, series int, interval, gap time.Duration) {
	if gap > 0 && os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
	}
	q, err := store.Open(b.TempDir(), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	reg := prometheus.NewRegistry()
	extra := labels.FromStrings("site", "plant-7")
	c := newCommitter(q, "acme", "plant-7", interval, 4<<20, slog.New(slog.DiscardHandler), reg)
	c.delta = newDeltaEncoder(config.Delta{FullEvery: time.Hour}, 0, extra, nil, reg)
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- c.run(ctx) }()
	defer func() { cancel(); <-done }()
	h := ingest.NewRemoteWriteHandler(rwSink{c, extra}, ingest.RemoteWriteConfig{ReuseBatches: true})

	bodies := make([][]byte, 8)
	for k := range bodies {
		req := &prompb.WriteRequest{}
		for i := range series {
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
				Labels: []prompb.Label{
					{Name: "__name__", Value: fmt.Sprint("synth_metric_", i%50)},
					{Name: "instance", Value: "127.0.0.1:9100"}, {Name: "job", Value: "synth"},
					{Name: "l1", Value: fmt.Sprint("a", i%7)}, {Name: "l2", Value: fmt.Sprint("b", i%13)},
					{Name: "l3", Value: fmt.Sprint("c", i%17)}, {Name: "l4", Value: fmt.Sprint("d", i%31)},
					{Name: "l5", Value: fmt.Sprint("e", i%3)}, {Name: "l6", Value: fmt.Sprint("f", i%5)},
					{Name: "series", Value: fmt.Sprint(k*series + i)},
				},
				Samples: []prompb.Sample{{Value: float64(i * k), Timestamp: 1_700_000_000_000 + int64(k)}},
			})
		}
		raw, err := req.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		bodies[k] = snappy.Encode(nil, raw)
	}
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	var wait time.Duration
	for n := 0; b.Loop(); n++ {
		if gap > 0 {
			time.Sleep(gap)
		}
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(bodies[n%len(bodies)])))
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code, rec.Body.String())
		}
		wait += time.Since(start)
	}
	samples := float64(b.N * series)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/samples, "ns/sample")
	b.ReportMetric(float64(cpuTime()-cpu0)/samples, "cpu-ns/sample")
	b.ReportMetric(float64(wait.Nanoseconds())/float64(b.N)/1e6, "ms/request")
	var m dto.Metric
	if err := c.blockSize.Write(&m); err == nil {
		b.ReportMetric(m.GetHistogram().GetSampleSum()/float64(m.GetHistogram().GetSampleCount())/float64(series), "block-B/sample")
	}
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
