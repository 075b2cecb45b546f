package cloud

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// benchSite encodes the scrapes of one synthetic target as an edge does:
// a family of counters that move every scrape, one of gauges, with
// metadata.
type benchSite struct {
	batch *relay.Batch
	enc   *delta.Encoder
	scr   delta.Scrape
	kb    deltaconv.KeyBuffer
	n     int
	site  string
}

func newBenchSite(site string, series int) *benchSite {
	b := &relay.Batch{Scrape: true, Job: "synth", Instance: "10.0.0.1:9101", Metadata: map[string]relay.Metadata{
		"synth_requests_total":      {Type: "counter", Help: "Requests handled, by id."},
		"synth_temperature_celsius": {Type: "gauge", Help: "Temperature by sensor."},
	}}
	for i := range series {
		ls := labels.FromStrings("__name__", "synth_requests_total", "id", strconv.Itoa(i), "instance", b.Instance,
			"job", b.Job, "path", "/api/v1/item", "site", site)
		if i >= series/2 {
			ls = labels.FromStrings("__name__", "synth_temperature_celsius", "instance", b.Instance, "job", b.Job,
				"sensor", "s"+strconv.Itoa(i), "site", site)
		}
		b.Series = append(b.Series, relay.Series{Labels: ls, Samples: make([]relay.Sample, 1)})
	}
	return &benchSite{batch: b, enc: delta.NewEncoder(1), site: site}
}

// block returns the block of the site's next scrape.
func (s *benchSite) block() []byte {
	s.n++
	ts := int64(1_700_000_000_000 + 5000*s.n)
	s.batch.Timestamp = ts
	for i := range s.batch.Series {
		v := float64(s.n*(i+1)) + 0.5
		if i >= len(s.batch.Series)/2 {
			v = 20 + float64((s.n+i)%97)/8
		}
		s.batch.Series[i].Samples[0] = relay.Sample{T: ts, V: v}
	}
	if !deltaconv.ScrapeOf(s.batch, &s.scr, labels.EmptyLabels(), &s.kb) {
		panic("BUG: bench scrape does not fit the delta model")
	}
	frame := s.enc.AppendFrame(nil, &s.scr)
	return block.Encode(nil, &relay.Block{Tenant: "acme", Site: s.site, Generation: s.enc.Generation(), Frames: [][]byte{frame}})
}

// BenchmarkReceive: the cloud's cost per sample of a steady delta stream
// of one 10k-series target, from the block's bytes to the files and
// /federate (fsyncs included).
func BenchmarkReceive(b *testing.B) {
	r := testReceiverAt(b, b.TempDir())
	const series = 10000
	s := newBenchSite("s1", series)
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}
	ctx := context.Background()
	for seq := range uint64(3) { // the full frame and the first increments
		if _, err := r.handle(ctx, peer, seq+1, 0, s.block()); err != nil {
			b.Fatal(err)
		}
	}
	blocks := make([][]byte, b.N)
	for i := range blocks {
		blocks[i] = s.block()
	}
	runtime.GC()
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	for i, blk := range blocks {
		if _, err := r.handle(ctx, peer, uint64(i+4), 0, blk); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*series), "cpu-ns/sample")
	if got, want := testutil.ToFloat64(r.received), float64((b.N+3)*series); got != want {
		b.Fatalf("received %v samples, want %v", got, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series), "ns/sample")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkReceiveSites: the cloud's cost per sample at many small sites,
// the per-block costs (fsyncs, the files' directories, the dedup state)
// weighing most: 64 sites of 1,000 series each, their blocks handled by 16
// connections at once as a cloud's QUIC connections hand them in, through
// rebuild, limits, the files and /federate (fsyncs included). One op is one
// block of every site.
func BenchmarkReceiveSites(b *testing.B) {
	r := testReceiverAt(b, b.TempDir())
	const sites, series, conns = 64, 1000, 16
	ss := make([]*benchSite, sites)
	peers := make([]transport.Peer, sites)
	for i := range ss {
		name := "s" + strconv.Itoa(i)
		ss[i] = newBenchSite(name, series)
		peers[i] = transport.Peer{Tenant: "acme", Site: name, QueueID: uint64(i + 1)}
	}
	ctx := context.Background()
	handleAll := func(blocks [][][]byte, first uint64) {
		var wg sync.WaitGroup
		for c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range blocks {
					for i := c; i < sites; i += conns {
						if _, err := r.handle(ctx, peers[i], first+uint64(n), 0, blocks[n][i]); err != nil {
							b.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
	}
	blocksOf := func(n int) [][][]byte {
		out := make([][][]byte, n)
		for k := range out {
			out[k] = make([][]byte, sites)
			for i, s := range ss {
				out[k][i] = s.block()
			}
		}
		return out
	}
	handleAll(blocksOf(3), 1) // the full frames and the first increments
	blocks := blocksOf(b.N)
	runtime.GC()
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	handleAll(blocks, 4)
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*sites*series), "cpu-ns/sample")
	if got, want := testutil.ToFloat64(r.received), float64((b.N+3)*sites*series); got != want {
		b.Fatalf("received %v samples, want %v", got, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sites*series), "ns/sample")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process' user and system CPU time so far, in ns: the
// collector's work included, which a benchmark's wall time on a busy
// machine hides or inflates.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestReceiveSteadyAllocs: once a target's series are known, handling a
// block allocates per block, not per sample: a steady 2,000-series scrape
// through rebuild, limits, the files and /federate costs a few hundred
// allocations at most (every sample allocating would be 2,000 and more).
func TestReceiveSteadyAllocs(t *testing.T) {
	r := testReceiver(t)
	const series = 2000
	s := newBenchSite("s1", series)
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}
	ctx := context.Background()
	blocks := make([][]byte, 16)
	for i := range blocks {
		blocks[i] = s.block()
	}
	i := 0
	handle := func() {
		if _, err := r.handle(ctx, peer, uint64(i+1), 0, blocks[i]); err != nil {
			t.Fatal(err)
		}
		i++
	}
	handle() // the full frame: every series new
	handle()
	if got := testing.AllocsPerRun(10, handle); got > series/5 {
		t.Fatalf("%v allocations per steady block of %d series, want at most %d", got, series, series/5)
	}
}
