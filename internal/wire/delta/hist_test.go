package delta

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randomSpans(r *rand.Rand) ([]Span, int) {
	var out []Span
	n := 0
	for range r.IntN(4) {
		s := Span{Offset: int32(r.IntN(9) - 4), Length: uint32(r.IntN(5))}
		n += int(s.Length)
		out = append(out, s)
	}
	return out, n
}

func randomFloatBits(r *rand.Rand) uint64 {
	switch r.IntN(3) {
	case 0:
		return specials[r.IntN(len(specials))]
	case 1:
		return math.Float64bits(float64(r.IntN(10000)) / 10)
	}
	return r.Uint64()
}

// randomHistogram returns a random histogram of either kind: any schema
// from -4 to 8 or custom buckets (-53), one in five a staleness marker.
func randomHistogram(r *rand.Rand) *Histogram {
	h := &Histogram{Float: r.IntN(2) == 0, ResetHint: uint8(r.IntN(4)), Schema: int32(r.IntN(13) - 4),
		ZeroThreshold: randomFloatBits(r), Sum: randomFloatBits(r)}
	if r.IntN(4) == 0 {
		h.Schema = -53
		v := 0.5
		for range r.IntN(5) {
			v += float64(1 + r.IntN(50))
			h.CustomValues = append(h.CustomValues, math.Float64bits(v))
		}
	}
	if r.IntN(5) == 0 {
		h.Sum = StaleNaN
	}
	count := func() uint64 {
		if h.Float {
			return randomFloatBits(r)
		}
		return r.Uint64() >> r.IntN(64)
	}
	h.ZeroCount, h.Count = count(), count()
	var n int
	h.PositiveSpans, n = randomSpans(r)
	for range n {
		h.PositiveBuckets = append(h.PositiveBuckets, count())
	}
	h.NegativeSpans, n = randomSpans(r)
	for range n {
		h.NegativeBuckets = append(h.NegativeBuckets, count())
	}
	return h
}

func randomExemplars(r *rand.Rand, ts int64) []Exemplar {
	var out []Exemplar
	for range r.IntN(3) {
		l := AppendLabel(nil, "trace_id", fmt.Sprintf("%x", r.Uint64()))
		out = append(out, Exemplar{Labels: string(l), V: randomFloatBits(r), T: ts - int64(r.IntN(5000)), HasTs: r.IntN(2) == 0})
	}
	return out
}

// evolve makes the next sample of a series of a histogram generator: a
// histogram series usually grows its counts (same layout), sometimes
// changes layout or kind, turns into a float staleness marker (as
// Prometheus' scraper writes for a vanished histogram series) and back;
// exemplars usually stay, sometimes change or go.
func (g *gen) evolve(gs *genSeries, smp *fullSeries, ts int64) {
	r := g.rng
	if r.IntN(4) == 0 {
		gs.ex = randomExemplars(r, ts)
	}
	smp.ex = gs.ex
	if gs.kind != 4 {
		return
	}
	switch r.IntN(10) {
	case 0:
		gs.h = randomHistogram(r)
	case 1:
		smp.V = StaleNaN // float staleness marker for a histogram series
		return
	case 2:
		h := gs.h.Clone()
		h.Sum = StaleNaN
		gs.h = h
	default:
		h := gs.h.Clone()
		h.ResetHint = uint8(r.IntN(4))
		grow := func(v uint64) uint64 {
			if h.Float {
				return math.Float64bits(math.Float64frombits(v) + float64(r.IntN(3)))
			}
			return v + uint64(r.IntN(3))
		}
		h.Count, h.ZeroCount = grow(h.Count), grow(h.ZeroCount)
		h.Sum = math.Float64bits(math.Float64frombits(h.Sum) + r.Float64())
		for i := range h.PositiveBuckets {
			h.PositiveBuckets[i] = grow(h.PositiveBuckets[i])
		}
		gs.h = h
	}
	smp.h = gs.h
	smp.V = r.Uint64() // ignored for a histogram sample
}

// newHistGen is newGen whose series may be native histograms and carry
// exemplars.
func newHistGen(seed uint64, ntargets, nseries int) *gen {
	g := newGen(seed, ntargets, nseries)
	g.hist = true
	for _, tg := range g.targets {
		for j := range tg.series {
			tg.series[j] = g.newSeries(tg)
		}
	}
	return g
}

// TestHistogramRoundTrip encodes random scrapes whose series are floats,
// native histograms of both kinds (staleness markers, custom buckets) and
// carry exemplars, across generations and with a decoder restored from its
// marshalled state mid-way: every rebuilt scrape equals its input exactly.
func TestHistogramRoundTrip(t *testing.T) {
	for seed := range uint64(6) {
		g := newHistGen(seed, 3, 30)
		enc, dec := NewEncoder(1), NewDecoder()
		extras := 0
		for step := range 60 {
			if step%25 == 24 {
				enc.Checkpoint()
			}
			if step == 30 {
				again := NewDecoder()
				if err := again.UnmarshalState(dec.MarshalState(nil)); err != nil {
					t.Fatal(err)
				}
				if string(again.MarshalState(nil)) != string(dec.MarshalState(nil)) {
					t.Fatal("state does not survive marshalling")
				}
				dec = again
			}
			for i := range g.targets {
				s := g.scrape(i)
				frame := enc.AppendFrame(nil, s)
				if frame[1]&kindExtra != 0 {
					extras++
					if frame[0] != Version {
						t.Fatalf("frame with extras has version %d", frame[0])
					}
				}
				got, err := dec.Apply(frame)
				if err != nil {
					t.Fatalf("seed %d step %d: %v", seed, step, err)
				}
				sameScrape(t, s, got)
				g.ts += 15000
			}
		}
		if extras == 0 {
			t.Fatal("no frame carried histograms or exemplars")
		}
	}
}

// TestUnchangedHistogramIsCheap: a scrape whose histogram and exemplars
// repeat costs no more than the same scrape of floats.
func TestUnchangedHistogramIsCheap(t *testing.T) {
	key := string(AppendLabel(nil, "__name__", "h"))
	h := &Histogram{Schema: 3, ZeroThreshold: math.Float64bits(1e-128), Count: 100, Sum: math.Float64bits(12.5),
		PositiveSpans: []Span{{Offset: 0, Length: 4}}, PositiveBuckets: []uint64{10, 20, 30, 40}}
	ex := []Exemplar{{Labels: string(AppendLabel(nil, "trace_id", "abc")), V: math.Float64bits(0.3), T: 5, HasTs: true}}
	enc, dec := NewEncoder(1), NewDecoder()
	var sizes []int
	for i := range 3 {
		s := &Scrape{Target: "t", Timestamp: int64(i) * 1000, Series: []Series{{Labels: key, T: int64(i) * 1000}},
			Extras: []Extra{{Series: 0, H: h, Exemplars: ex}}}
		f := enc.AppendFrame(nil, s)
		if _, err := dec.Apply(f); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(f))
	}
	fenc := NewEncoder(1)
	var fsize int
	for i := range 3 {
		fsize = len(fenc.AppendFrame(nil, &Scrape{Target: "t", Timestamp: int64(i) * 1000, Series: []Series{{Labels: key, T: int64(i) * 1000}}}))
	}
	if sizes[2] != fsize {
		t.Fatalf("unchanged histogram frame is %d bytes, the float one %d (full frame %d)", sizes[2], fsize, sizes[0])
	}
}
