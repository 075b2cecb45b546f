package cloud

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/edgerelay/edgerelay/relay/transport"
)

// BenchmarkSiteMemory reports the cloud's live heap per series once 100
// sites of 1,000 series each sent three scrapes (a full frame and two
// increments) through rebuild, limits, the files and /federate: the
// delta bases, the rebuilt label sets, /federate's entries and the
// limits' state. One op is every site's three blocks, into a new
// receiver.
func BenchmarkSiteMemory(b *testing.B) {
	const sites, series = 100, 1000
	var perSeries float64
	for b.Loop() {
		b.StopTimer()
		r := testReceiverAt(b, b.TempDir())
		blocks := make([][]byte, 0, 3*sites)
		peers := make([]transport.Peer, sites)
		for i := range sites {
			name := "s" + strconv.Itoa(i)
			s := newBenchSite(name, series)
			peers[i] = transport.Peer{Tenant: "acme", Site: name, QueueID: uint64(i + 1)}
			blocks = append(blocks, s.block(), s.block(), s.block())
		}
		held := 0
		for _, blk := range blocks {
			held += cap(blk)
		}
		heap0 := liveHeap()
		b.StartTimer()
		for i, blk := range blocks {
			if _, err := r.handle(context.Background(), peers[i/3], uint64(i%3+1), 0, blk); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		blocks = nil
		perSeries = float64(int64(liveHeap())-int64(heap0)+int64(held)) / (sites * series)
		runtime.KeepAlive(r)
		b.StartTimer()
	}
	b.ReportMetric(perSeries, "heap-B/series")
	b.ReportMetric(0, "ns/op")
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
