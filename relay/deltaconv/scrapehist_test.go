package deltaconv

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// TestScrapeHistogramsRoundTrip sends random scrapes of native histograms
// (integer and float, staleness markers, custom buckets), float samples
// and exemplars through ScrapeOf, a delta encoder and decoder, and BatchOf:
// every rebuilt scrape is exactly the batch given, identity merged in.
func TestScrapeHistogramsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	extra := labels.FromStrings("site", "plant-7")
	enc, dec := delta.NewEncoder(1), delta.NewDecoder()
	var kb KeyBuffer
	var s delta.Scrape
	state := make([]relay.Series, 12)
	for i := range state {
		state[i].Labels = labels.FromStrings("__name__", "h", "s", fmt.Sprint(i))
	}
	for round := range 200 {
		ts := 1_700_000_000_000 + int64(round)*15000
		b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Timestamp: ts}
		for i := range state {
			sr := relay.Series{Labels: state[i].Labels}
			switch prev := state[i]; {
			case r.IntN(8) == 0:
				continue // absent from this scrape
			case r.IntN(8) == 0:
				sr.Samples = []relay.Sample{{T: ts, V: math.Float64frombits(value.StaleNaN)}}
			case len(prev.Histograms) == 1 && r.IntN(4) != 0:
				sr.Histograms = []relay.HistogramSample{grow(prev.Histograms[0], ts)}
			case r.IntN(3) == 0:
				sr.Samples = []relay.Sample{{T: ts, V: histtest.Float(r)}}
			default:
				sr.Histograms = []relay.HistogramSample{histtest.ValidSample(r, ts)}
			}
			if r.IntN(3) == 0 {
				state[i].Exemplars = nil
				for range r.IntN(3) {
					state[i].Exemplars = append(state[i].Exemplars, histtest.Exemplar(r, ts))
				}
			}
			sr.Exemplars = state[i].Exemplars
			state[i].Histograms = sr.Histograms
			b.Series = append(b.Series, sr)
		}
		if !ScrapeOf(b, &s, extra, &kb) {
			t.Fatalf("round %d: scrape refused", round)
		}
		got, err := dec.Apply(enc.AppendFrame(nil, &s))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		gb, err := BatchOf(got)
		if err != nil {
			t.Fatal(err)
		}
		byLabels := map[string]relay.Series{}
		for _, sr := range gb.Series {
			byLabels[sr.Labels.String()] = sr
		}
		if len(gb.Series) != len(b.Series) {
			t.Fatalf("round %d: %d series rebuilt, want %d", round, len(gb.Series), len(b.Series))
		}
		for _, want := range b.Series {
			g, ok := byLabels[Merge(want.Labels, extra).String()]
			if !ok {
				t.Fatalf("round %d: %s missing", round, want.Labels)
			}
			if d := histtest.DiffSamples(want.Histograms, g.Histograms); d != "" {
				t.Fatalf("round %d %s: %s", round, want.Labels, d)
			}
			if d := histtest.DiffExemplars(want.Exemplars, g.Exemplars); d != "" {
				t.Fatalf("round %d %s: %s", round, want.Labels, d)
			}
			if len(want.Samples) != len(g.Samples) || (len(g.Samples) == 1 &&
				(g.Samples[0].T != want.Samples[0].T || math.Float64bits(g.Samples[0].V) != math.Float64bits(want.Samples[0].V))) {
				t.Fatalf("round %d %s: samples %v, want %v", round, want.Labels, g.Samples, want.Samples)
			}
		}
	}
}

// grow returns the next sample of a histogram: counts up, same layout,
// still valid.
func grow(hs relay.HistogramSample, ts int64) relay.HistogramSample {
	out := relay.HistogramSample{T: ts}
	if hs.H != nil {
		h := hs.H.Copy()
		h.Sum += 1.5
		switch {
		case !h.UsesCustomBuckets():
			h.ZeroCount++
			h.Count++
		case len(h.PositiveBuckets) > 0:
			h.PositiveBuckets[0]++ // the first bucket's count grows
			if len(h.PositiveBuckets) > 1 {
				h.PositiveBuckets[1]-- // the others' stay
			}
			h.Count++
		}
		out.H = h
	} else {
		h := hs.FH.Copy()
		h.Sum += 1.5
		switch {
		case !h.UsesCustomBuckets():
			h.ZeroCount += 0.5
			h.Count += 0.5
		case len(h.PositiveBuckets) > 0:
			h.PositiveBuckets[0] += 0.5
			h.Count += 0.5
		}
		out.FH = h
	}
	return out
}

// TestBatchOfRefusesInvalidHistogram: a delta frame holding a histogram
// Prometheus' TSDB would refuse is corrupt, as a block holding one is
// (package block), so no cloud output ever meets one.
func TestBatchOfRefusesInvalidHistogram(t *testing.T) {
	bad := &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1}}
	b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Timestamp: 1,
		Series: []relay.Series{{Labels: labels.FromStrings("__name__", "h"), Histograms: []relay.HistogramSample{{T: 1, H: bad}}}}}
	var s delta.Scrape
	var kb KeyBuffer
	if !ScrapeOf(b, &s, labels.EmptyLabels(), &kb) {
		t.Fatal("scrape refused")
	}
	got, err := delta.NewDecoder().Apply(delta.NewEncoder(1).AppendFrame(nil, &s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BatchOf(got); !errors.Is(err, block.ErrCorrupt) || !strings.Contains(err.Error(), "spans need 3 buckets") {
		t.Fatalf("frame: %v", err)
	}
}
