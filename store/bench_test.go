package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend measures synced Append of 64 KiB blocks with 1 and 16
// concurrent appenders while a consumer reads and acknowledges behind
// them, as the forwarder does. It reports blocks/s, MB/s (from SetBytes),
// the process' peak RSS and the queue's disk use.
func BenchmarkAppend(b *testing.B) {
	const blockSize = 64 << 10
	for _, appenders := range []int{1, 16} {
		b.Run(fmt.Sprintf("64KiB/appenders=%d", appenders), func(b *testing.B) {
			q := openQueue(b, b.TempDir(), Options{MaxBytes: 256 << 20})
			data := make([]byte, blockSize)
			for i := range data {
				data[i] = byte(i * 7)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var consumer sync.WaitGroup
			consumer.Go(func() { consume(ctx, q) })

			b.SetBytes(blockSize)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for g := range appenders {
				n := b.N / appenders
				if g < b.N%appenders {
					n++
				}
				wg.Go(func() {
					for range n {
						if _, err := q.Append(Record{Data: data, Samples: 1000, Time: 1}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			consumer.Wait()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "blocks/s")
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(diskUsage(q.dir))/(1<<20), "disk-MiB")
		})
	}
}

func consume(ctx context.Context, q *Queue) {
	var after uint64
	for ctx.Err() == nil {
		if err := q.Wait(ctx, after); err != nil {
			return
		}
		bs, err := q.Read(after, 64, 4<<20)
		if err != nil || len(bs) == 0 {
			continue
		}
		after = bs[len(bs)-1].Seq
		if err := q.AckThrough(after); err != nil {
			return
		}
	}
}

// peakRSS returns the process' peak resident set size in bytes (Linux),
// or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
