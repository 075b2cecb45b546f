package rwout

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process' user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQueueAndDrain: blocks of 2000 scraped series are queued (encode
// and a synced append, as the cloud's receive path does) while the
// endpoint is away, then drained into an endpoint that reads each body and
// answers 204. It reports the CPU seconds per million samples of each
// half (the endpoint's reading included in the drain's) and the drain's
// samples per second.
//
//	go test -run '^$' -bench QueueAndDrain -benchtime 50x ./relay/cloud/rwout/
func BenchmarkQueueAndDrain(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := cfg(&testing.T{}, srv.URL+"/api/v1/write", 2000)
	c.QueueConfig.MinShards, c.QueueConfig.MaxShards = 4, 4
	f, err := New(c, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Open(b.TempDir()); err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const per = 2000
	blk := scrapeBatch(per, time.Now().UnixMilli())
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if err := f.Deliver(b.Context(), deliveryOf("acme", uint64(i+1), blk)); err != nil {
			b.Fatal(err)
		}
	}
	queueCPU := cpuTime() - cpu0
	samples := float64(b.N * per)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu1, t1 := cpuTime(), time.Now()
	go func() { done <- f.Run(ctx) }()
	for f.queue.Stats().Blocks > 0 {
		time.Sleep(time.Millisecond)
	}
	drainCPU, drainWall := cpuTime()-cpu1, time.Since(t1)
	cancel()
	<-done
	b.ReportMetric(queueCPU.Seconds()/samples*1e6, "queue-cpu-s/1M-samples")
	b.ReportMetric(drainCPU.Seconds()/samples*1e6, "drain-cpu-s/1M-samples")
	b.ReportMetric(samples/drainWall.Seconds(), "drain-samples/s")
}
