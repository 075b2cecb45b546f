package delta

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// gen produces random scrapes of a few targets with the dynamics the codec
// must survive: churn, NaN payloads, staleness markers, counter resets,
// missing samples, explicit timestamps, metadata and attribute changes.
type gen struct {
	hist bool // series may be native histograms and carry exemplars
	// stable: series keep their order but for one scrape in ten, and
	// every other scrape is quiet: no churn, missing samples or duplicates.
	stable bool
	// trends: counters grow at a steady rate, integer or decimal, but
	// for one scrape in eight (frame version 3's prediction).
	trends  bool
	rng     *rand.Rand
	targets []*genTarget
	ts      int64
}

type genTarget struct {
	name   string
	series []genSeries
	meta   []Meta
	attrs  string
	next   int
}

type genSeries struct {
	labels string
	v      float64
	kind   int // 0 counter, 1 gauge, 2 decimal gauge, 3 constant, 4 histogram (gen.hist)
	h      *Histogram
	ex     []Exemplar
}

func newGen(seed uint64, ntargets, nseries int) *gen {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ts: 1_700_000_000_000}
	for i := range ntargets {
		t := &genTarget{name: TargetKey("job", fmt.Sprintf("host-%d:9100", i)), attrs: "a"}
		for range nseries {
			t.series = append(t.series, g.newSeries(t))
		}
		for f := range 5 {
			t.meta = append(t.meta, Meta{Family: fmt.Sprintf("fam_%d", f), Type: "gauge", Help: "help"})
		}
		g.targets = append(g.targets, t)
	}
	return g
}

func (g *gen) newSeries(t *genTarget) genSeries {
	t.next++
	var b []byte
	b = AppendLabel(b, "__name__", fmt.Sprintf("fam_%d", t.next%7))
	b = AppendLabel(b, "id", fmt.Sprint(t.next))
	gs := genSeries{labels: string(b), kind: g.rng.IntN(4), v: float64(g.rng.IntN(1000))}
	if g.hist && g.rng.IntN(2) == 0 {
		gs.kind, gs.h = 4, randomHistogram(g.rng)
	}
	return gs
}

var specials = []uint64{StaleNaN, 0x7ff8000000000001, 0x7ff8000000000000, 0x7ff4000000000abc,
	0xfff8000000000123, math.Float64bits(math.Inf(1)), math.Float64bits(math.Inf(-1)),
	0x8000000000000000, 0, math.Float64bits(math.MaxFloat64), 1, math.Float64bits(-1e-300)}

// scrape returns the next scrape of target i.
func (g *gen) scrape(i int) *Scrape {
	r := g.rng
	t := g.targets[i]
	quiet := g.stable && r.IntN(2) == 0
	// churn
	for j := range t.series {
		if !quiet && r.IntN(100) == 0 {
			t.series[j] = g.newSeries(t)
		}
	}
	if r.IntN(20) == 0 {
		t.meta[r.IntN(len(t.meta))].Help = fmt.Sprint("help ", r.IntN(3))
	}
	if r.IntN(30) == 0 {
		t.meta = append(t.meta, Meta{Family: fmt.Sprint("extra_", r.IntN(5)), Type: "counter"})
	}
	if r.IntN(30) == 0 && len(t.meta) > 1 {
		t.meta = slices.Delete(t.meta, 0, 1)
	}
	if r.IntN(25) == 0 {
		t.attrs = fmt.Sprint("attrs ", r.IntN(3))
	}
	s := &Scrape{Target: t.name, Timestamp: g.ts + int64(r.IntN(3)), Attrs: t.attrs, Metadata: slices.Clone(t.meta)}
	var all []fullSeries
	for j := range t.series {
		gs := &t.series[j]
		switch gs.kind {
		case 0:
			switch {
			case r.IntN(50) == 0:
				gs.v = 0 // reset
			case g.trends && r.IntN(8) != 0:
				gs.v += float64(3 + len(gs.labels)%5)
			default:
				gs.v += float64(r.IntN(100))
			}
		case 1:
			if g.trends {
				gs.v = math.Round(gs.v*100+25) / 100 // +0.25, a steady decimal
				break
			}
			gs.v += r.NormFloat64()
		case 2:
			gs.v = float64(r.IntN(100000)) / 100
		}
		if r.IntN(10) == 0 && !quiet {
			continue // missing sample
		}
		smp := fullSeries{Series: Series{Labels: gs.labels, T: s.Timestamp, V: math.Float64bits(gs.v)}}
		if g.hist {
			g.evolve(gs, &smp, s.Timestamp)
		}
		if smp.h == nil && r.IntN(30) == 0 {
			smp.V = specials[r.IntN(len(specials))]
		}
		if r.IntN(30) == 0 {
			smp.T = s.Timestamp - int64(r.IntN(100000)) // explicit timestamp
		}
		all = append(all, smp)
	}
	if !g.stable || (!quiet && r.IntN(10) == 0) {
		r.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
	}
	if r.IntN(10) == 0 && len(all) > 0 && !quiet {
		dup := all[0]
		dup.V++
		all = append(all, dup) // duplicate label set: first one wins
	}
	for _, fs := range all {
		if fs.h != nil || fs.ex != nil {
			s.Extras = append(s.Extras, Extra{Series: len(s.Series), H: fs.h, Exemplars: fs.ex})
		}
		s.Series = append(s.Series, fs.Series)
	}
	return s
}

// fullSeries is a series of a scrape with its extra.
type fullSeries struct {
	Series
	h  *Histogram
	ex []Exemplar
}

// flatten returns the series of s with their extras.
func flatten(s *Scrape) []fullSeries {
	out := make([]fullSeries, len(s.Series))
	for i, sr := range s.Series {
		out[i].Series = sr
	}
	for _, x := range s.Extras {
		out[x.Series].h, out[x.Series].ex = x.H, x.Exemplars
	}
	return out
}

// normalize returns what a decoder must return for s: first of duplicate
// series and families kept, series sorted by labels, metadata by family.
func normalize(s *Scrape) (*Scrape, []fullSeries) {
	out := &Scrape{Target: s.Target, Timestamp: s.Timestamp, Attrs: s.Attrs}
	seen := map[string]bool{}
	var series []fullSeries
	for _, sr := range flatten(s) {
		if !seen[sr.Labels] {
			seen[sr.Labels] = true
			if sr.h != nil {
				sr.V = 0 // a histogram sample has no float value
			}
			sr.ID = 0 // the decoder's numbering, checked by TestIDsNameSeries
			series = append(series, sr)
		}
	}
	slices.SortFunc(series, func(a, b fullSeries) int { return strings.Compare(a.Labels, b.Labels) })
	out.Metadata = slices.Clone(s.Metadata)
	slices.SortStableFunc(out.Metadata, cmpMeta)
	out.Metadata = slices.CompactFunc(out.Metadata, sameFamily)
	return out, series
}

func sameScrape(t *testing.T, want, got *Scrape) {
	t.Helper()
	for i, x := range got.Extras {
		if x.Series < 0 || x.Series >= len(got.Series) || (i > 0 && x.Series <= got.Extras[i-1].Series) || (x.H == nil && len(x.Exemplars) == 0) {
			t.Fatalf("decoded extras malformed: %+v", got.Extras)
		}
	}
	want, ws := normalize(want)
	got, gs := normalize(got)
	if want.Target != got.Target || want.Timestamp != got.Timestamp || want.Attrs != got.Attrs {
		t.Fatalf("header: want %q %d %q, got %q %d %q", want.Target, want.Timestamp, want.Attrs, got.Target, got.Timestamp, got.Attrs)
	}
	if !slices.Equal(want.Metadata, got.Metadata) {
		t.Fatalf("metadata: want %v, got %v", want.Metadata, got.Metadata)
	}
	if len(ws) != len(gs) {
		t.Fatalf("want %d series, got %d", len(ws), len(gs))
	}
	for i := range ws {
		w, g := ws[i], gs[i]
		if w.Series != g.Series || !w.h.Equal(g.h) || !slices.Equal(w.ex, g.ex) {
			t.Fatalf("series %d: want %+v %+v %v, got %+v %+v %v", i, w.Series, w.h, w.ex, g.Series, g.h, g.ex)
		}
	}
}
