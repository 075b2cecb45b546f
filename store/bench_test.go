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
	for _, appenders := range []int{1, 16} {
		b.Run(fmt.Sprintf("64KiB/appenders=%d", appenders), func(b *testing.B) {
			q := openQueue(b, b.TempDir(), Options{MaxBytes: 256 << 20})
			data := []byte(newBenchBlock()) // the same for every block: appenders share it
			ctx, cancel := context.WithCancel(context.Background())
			var consumer sync.WaitGroup
			consumer.Go(func() { consume(ctx, q) })

			b.SetBytes(benchBlockSize)
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
func peakRSS() int64 { return procValue("/proc/self/status", "VmHWM:") << 10 }

// writtenBytes is what the process has written to storage (Linux
// /proc/self/io write_bytes), or 0.
func writtenBytes() int64 { return procValue("/proc/self/io", "write_bytes:") }

// procValue returns the number after key in the file (the value of a
// "key: N [kB]" line of /proc), or 0.
func procValue(file, key string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// benchBlock is the data of the benchmarks' 64 KiB blocks; distinct(i)
// makes block i differ from its neighbours.
type benchBlock []byte

const benchBlockSize = 64 << 10

func newBenchBlock() benchBlock {
	data := make(benchBlock, benchBlockSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return data
}

func (d benchBlock) distinct(i int) Record {
	d[0], d[1] = byte(i), byte(i>>8)
	return Record{Data: d, Samples: 1000, Time: 1}
}

// BenchmarkAppendBacklog measures synced Append of 64 KiB blocks by one
// appender with nothing acknowledged, as during an outage: the tree only
// grows, and every byte passes the compactions. It reports blocks/s over
// the whole run, the slowest 1000 blocks' rate, and the queue's disk use.
func BenchmarkAppendBacklog(b *testing.B) {
	q := openQueue(b, b.TempDir(), Options{MaxBytes: 2 << 30})
	data := newBenchBlock()
	b.SetBytes(benchBlockSize)
	b.ResetTimer()
	w0 := writtenBytes()
	start, lap := time.Now(), time.Now()
	slowest := time.Duration(0)
	for i := range b.N {
		if _, err := q.Append(data.distinct(i)); err != nil {
			b.Fatal(err)
		}
		if (i+1)%1000 == 0 {
			slowest = max(slowest, time.Since(lap))
			lap = time.Now()
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "blocks/s")
	if slowest > 0 {
		b.ReportMetric(1000/slowest.Seconds(), "slowest-1000-blocks/s")
	}
	b.ReportMetric(float64(writtenBytes()-w0)/float64(b.N*benchBlockSize), "written/appended")
	b.ReportMetric(float64(diskUsage(q.dir))/(1<<20), "disk-MiB")
}

// BenchmarkCatchUp measures a catch-up after an outage: a backlog of b.N
// 64 KiB blocks is read and acknowledged 64 blocks at a time while live
// blocks keep coming, one for every eight acknowledged. It reports the
// acknowledged blocks per second and what the process wrote to storage
// during the catch-up per byte acknowledged.
func BenchmarkCatchUp(b *testing.B) {
	q := openQueue(b, b.TempDir(), Options{MaxBytes: 4 << 30})
	data := newBenchBlock()
	for i := range b.N {
		if _, err := q.Append(data.distinct(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(benchBlockSize)
	b.ResetTimer()
	w0 := writtenBytes()
	start := time.Now()
	var after uint64
	acked, live := 0, 0
	for acked < b.N {
		bs, err := q.Read(after, 64, 8<<20)
		if err != nil || len(bs) == 0 {
			b.Fatalf("read after %d: %d blocks, %v", after, len(bs), err)
		}
		after = bs[len(bs)-1].Seq
		if err := q.AckThrough(after); err != nil {
			b.Fatal(err)
		}
		acked += len(bs)
		for range len(bs) / 8 {
			live++
			if _, err := q.Append(data.distinct(b.N + live)); err != nil {
				b.Fatal(err)
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(acked)/elapsed.Seconds(), "acked-blocks/s")
	b.ReportMetric(float64(writtenBytes()-w0)/float64(acked*benchBlockSize), "written/acked")
	b.ReportMetric(float64(diskUsage(q.dir))/(1<<20), "disk-MiB")
}
