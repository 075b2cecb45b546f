package edge

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/relay/lanes"
	"github.com/edgerelay/edgerelay/store"
)

// special values whose bits must survive exactly.
var specials = []float64{math.Float64frombits(value.StaleNaN), math.NaN(), math.Float64frombits(0x7ff8dead00000001),
	math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, math.MaxFloat64, math.SmallestNonzeroFloat64}

// scrapeGen makes random scrapes of a few targets: series come and go,
// counters grow and reset, gauges jump, special values appear, some
// samples carry their own timestamp, targets are scraped in random order
// and some rounds skip a target.
type scrapeGen struct {
	rng    *rand.Rand
	values map[string]float64
	ts     int64
	// site: 0, every series has a site label; n > 0, the series of one
	// scrape in n have one; n < 0, none has.
	site int
}

func (g *scrapeGen) scrape(target int) *relay.Batch {
	b := &relay.Batch{
		Scrape: true, Job: "job", Instance: fmt.Sprintf("host-%d:9100", target), Timestamp: g.ts,
		TargetLabels: labels.FromStrings("__address__", fmt.Sprintf("host-%d:9100", target), "zone", "z1"),
		Metadata:     map[string]relay.Metadata{"m_total": {Type: "counter", Help: "h"}},
	}
	if g.rng.IntN(10) == 0 {
		b.Metadata["g"] = relay.Metadata{Type: "gauge", Help: fmt.Sprint("help ", g.rng.IntN(3))}
	}
	withSite := g.site == 0 || (g.site > 0 && g.rng.IntN(g.site) == 0)
	n := 30 + g.rng.IntN(20) // series churn at the tail
	for i := 0; i < n; i++ {
		if g.rng.IntN(15) == 0 {
			continue // missing this scrape
		}
		name := "m_total"
		if i%3 == 0 {
			name = "g"
		}
		ls := labels.FromStrings("__name__", name, "i", fmt.Sprint(i), "instance", b.Instance, "job", "job")
		if withSite {
			ls = labels.NewBuilder(ls).Set("site", "s").Labels()
		}
		key := ls.String()
		v := g.values[key]
		switch r := g.rng.IntN(20); {
		case r == 0:
			v = specials[g.rng.IntN(len(specials))]
		case r == 1:
			v = 0 // counter reset
		case name == "g":
			v = g.rng.NormFloat64() * 100
		default:
			v += float64(g.rng.IntN(5))
		}
		g.values[key] = v
		t := g.ts
		if g.rng.IntN(8) == 0 {
			t -= int64(g.rng.IntN(5000))
		}
		b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: t, V: v}}})
	}
	return b
}

// TestDeltaRoundTripThroughQueue sends random scrapes (and remote_write
// batches) through the edge's committer into a real queue, with new
// generations at random, then decodes every queued block as the cloud does:
// everything comes back sample for sample, value bits included.
func TestDeltaRoundTripThroughQueue(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { roundTrip(t, seed, 16<<10) })
	}
	// Blocks so small that full frames go alone in a block, compressed.
	t.Run("small blocks", func(t *testing.T) { roundTrip(t, 5, 3<<10) })
	// Identity labels, and a site label on the series of some scrapes
	// only: their keys are built from the series (deltaconv.ScrapeOf),
	// the others' from their label sets' own strings (seriesKeys).
	t.Run("identity labels", func(t *testing.T) {
		roundTripWith(t, 6, 16<<10, labels.FromStrings("region", "eu", "site", "plant-7"), 3)
	})
}

func roundTrip(t *testing.T, seed uint64, maxBlock int) {
	roundTripWith(t, seed, maxBlock, labels.EmptyLabels(), 0)
}

func roundTripWith(t *testing.T, seed uint64, maxBlock int, extra labels.Labels, site int) {
	q, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	reg := prometheus.NewRegistry()
	c := newCommitter(q, "acme", "plant-7", 0, maxBlock, slog.New(slog.DiscardHandler), reg)
	c.delta = newDeltaEncoder(config.Delta{FullEvery: time.Hour}, 0, extra, nil, reg)
	ln := lanes.New(q, lanes.Config{ReplayShare: 0.5, Window: 1, MaxBatchBytes: 1})
	c.lanes = ln
	g := &scrapeGen{rng: rand.New(rand.NewPCG(seed, 99)), values: map[string]float64{}, ts: 1_700_000_000_000, site: site}

	var want []*relay.Batch
	wantOf := func(b *relay.Batch) *relay.Batch {
		w := cloneBatch(b)
		addIdentity(w, extra) // as the cloud gets a scrape
		return w
	}
	for round := 0; round < 120; round++ {
		g.ts += 15000
		var group []*pending
		for _, target := range g.rng.Perm(4) {
			if g.rng.IntN(6) == 0 {
				continue
			}
			b := g.scrape(target)
			want = append(want, wantOf(b))
			group = append(group, &pending{b: b, done: make(chan error, 1)})
		}
		if g.rng.IntN(5) == 0 {
			rw := &relay.Batch{Timestamp: g.ts, Series: []relay.Series{{
				Labels:  labels.FromStrings("__name__", "rw", "job", "rw", "instance", "c"),
				Samples: []relay.Sample{{T: g.ts - 1, V: 1}, {T: g.ts, V: math.Float64frombits(value.StaleNaN)}},
			}}}
			addIdentity(rw, extra) // as Edge.Submit does for a batch that is not a scrape
			want = append(want, cloneBatch(rw))
			group = append(group, &pending{b: rw, done: make(chan error, 1)})
		}
		if g.rng.IntN(10) == 0 {
			c.delta.requestCheckpoint()
		}
		switch round {
		case 20: // the cloud decodes frames of version 3 (protocol 7)
			c.delta.clouds.connected("a", delta.Version3)
		case 100: // and then an older cloud takes over
			c.delta.clouds.connected("a", delta.Version)
		}
		if round == 60 || round == 90 {
			// A connection finds a backlog and asks for a live lane, which
			// starts with the next commit (the second finds the backlog
			// lane still full and asks for nothing).
			ln.Connect(true)
		}
		if len(group) > 0 {
			c.commit(group)
			for _, p := range group {
				if err := <-p.done; err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	queued, err := q.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Decode as the cloud may get them: the live lane before the backlog,
	// each lane with its own decoder.
	var blocks []store.Block
	for _, lane := range []uint8{1, 0} {
		for _, blk := range queued {
			if blk.Lane == lane {
				blocks = append(blocks, blk)
			}
		}
	}
	if sp := q.Stats().Split; sp.Seq == 0 || sp.Seq == queued[0].Seq {
		t.Fatalf("split %+v: no live lane after a backlog", sp)
	}
	decs := [2]*delta.Decoder{delta.NewDecoder(), delta.NewDecoder()}
	var got []*relay.Batch
	var wireBytes, frames, alone int
	versions := map[byte]int{}
	for _, blk := range blocks {
		dec := decs[blk.Lane]
		wireBytes += len(blk.Data)
		if len(blk.Data) > maxBlock {
			t.Fatalf("block %d is %d bytes, max_block_bytes %d", blk.Seq, len(blk.Data), maxBlock)
		}
		b, err := block.Decode(blk.Data)
		if err != nil {
			t.Fatalf("block %d: %v", blk.Seq, err)
		}
		if len(b.Frames) > 0 && blk.Group != b.Generation {
			t.Fatalf("block %d queued in group %d holds generation %d", blk.Seq, blk.Group, b.Generation)
		}
		got = append(got, b.Batches...)
		if len(b.Frames) == 1 && len(b.Frames[0]) > maxBlock-frameSlack {
			alone++ // a frame too large to share a block, fitting compressed
		}
		for _, f := range b.Frames {
			versions[f[0]]++
			s, err := dec.Apply(f)
			if err != nil {
				t.Fatalf("block %d: %v", blk.Seq, err)
			}
			rb, err := deltaconv.BatchOf(s)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rb)
			frames++
		}
	}
	if frames == 0 {
		t.Fatal("no delta frames were queued")
	}
	if versions[delta.Version3] == 0 || versions[delta.Version1] == 0 {
		t.Fatalf("frames by version %v: want versions 1 (before and after the version 3 cloud) and 3", versions)
	}
	if len(got) != len(want) {
		t.Fatalf("%d batches came back, %d went in", len(got), len(want))
	}
	index := map[string]*relay.Batch{}
	for _, b := range got {
		index[batchKey(b)] = b
	}
	samples := 0
	for _, w := range want {
		b := index[batchKey(w)]
		if b == nil {
			t.Fatalf("batch %s did not come back", batchKey(w))
		}
		if d := diffBatch(w, b); d != "" {
			t.Fatalf("batch %s: %s", batchKey(w), d)
		}
		samples += w.Samples()
	}
	if maxBlock < 4<<10 && alone == 0 {
		t.Fatal("no frame larger than a block's frame room went alone in a compressed block")
	}
	// edgerelay_queue_block_bytes counts every block queued, frames too.
	var hm dto.Metric
	if err := c.blockSize.Write(&hm); err != nil {
		t.Fatal(err)
	}
	if h := hm.GetHistogram(); h.GetSampleCount() != uint64(len(blocks)) || h.GetSampleSum() != float64(wireBytes) {
		t.Fatalf("edgerelay_queue_block_bytes counts %d blocks of %v bytes; the queue holds %d of %d", h.GetSampleCount(), h.GetSampleSum(), len(blocks), wireBytes)
	}
	t.Logf("%d batches, %d samples, %d frames in %d blocks: %.2f bytes/sample queued", len(want), samples, frames, len(blocks), float64(wireBytes)/float64(samples))
}

func batchKey(b *relay.Batch) string {
	return fmt.Sprintf("%v/%s/%s/%d", b.Scrape, b.Job, b.Instance, b.Timestamp)
}

func cloneBatch(b *relay.Batch) *relay.Batch {
	c := *b
	c.Series = slices.Clone(b.Series)
	for i := range c.Series {
		c.Series[i].Samples = slices.Clone(b.Series[i].Samples)
	}
	return &c
}

// diffBatch describes how got differs from want, or returns "".
func diffBatch(want, got *relay.Batch) string {
	type pt struct {
		t int64
		v uint64
	}
	flat := func(b *relay.Batch) map[string][]pt {
		m := map[string][]pt{}
		for _, s := range b.Series {
			for _, smp := range s.Samples {
				m[s.Labels.String()] = append(m[s.Labels.String()], pt{smp.T, math.Float64bits(smp.V)})
			}
		}
		return m
	}
	w, g := flat(want), flat(got)
	if len(w) != len(g) {
		return fmt.Sprintf("%d series, want %d", len(g), len(w))
	}
	for k, ws := range w {
		if !slices.Equal(ws, g[k]) {
			return fmt.Sprintf("%s = %v, want %v", k, g[k], ws)
		}
	}
	if want.Scrape {
		if !labels.Equal(want.TargetLabels, got.TargetLabels) {
			return fmt.Sprintf("target labels %v, want %v", got.TargetLabels, want.TargetLabels)
		}
		if fmt.Sprint(want.Metadata) != fmt.Sprint(got.Metadata) {
			return fmt.Sprintf("metadata %v, want %v", got.Metadata, want.Metadata)
		}
	}
	return ""
}
