package edge

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// TestSeriesKeysMatchScrapeOf: the keys kept per target give every frame
// byte for byte as deltaconv.ScrapeOf's keys do, over random scrapes where
// series come, go and change places, and over checkpoints that forget
// targets not scraped. With identity labels that replace (site) or give
// way to (i) a series' own, seriesKeys leaves the scrape to
// deltaconv.ScrapeOf (two label sets could then have one key); otherwise
// it gives the encoder the label sets' own strings (with stringlabels).
func TestSeriesKeysMatchScrapeOf(t *testing.T) {
	t.Run("identity labels apart", func(t *testing.T) {
		seriesKeysMatch(t, labels.FromStrings("region", "eu", "site", "plant-7"), -1)
	})
	t.Run("identity labels merged", func(t *testing.T) {
		seriesKeysMatch(t, labels.FromStrings("i", "ext", "region", "eu", "site", "plant-7"), 0)
	})
	// Series carrying site come in one scrape in three, where the
	// encoder's dictionary may hold the others at the same places: such a
	// scrape is never taken.
	t.Run("identity labels now and then", func(t *testing.T) {
		seriesKeysMatch(t, labels.FromStrings("region", "eu", "site", "plant-7"), 3)
	})
}

// carries reports whether a series of b has a label named as one of extra.
func carries(b *relay.Batch, extra labels.Labels) bool {
	for _, sr := range b.Series {
		found := false
		extra.Range(func(l labels.Label) { found = found || sr.Labels.Has(l.Name) })
		if found {
			return true
		}
	}
	return false
}

func seriesKeysMatch(t *testing.T, extra labels.Labels, site int) {
	for seed := range uint64(4) {
		g := &scrapeGen{rng: rand.New(rand.NewPCG(seed, 7)), values: map[string]float64{}, ts: 1_700_000_000_000, site: site}
		ref, got := delta.NewEncoder(1), delta.NewEncoder(1)
		keys := newSeriesKeys(extra)
		var kb, kbGot deltaconv.KeyBuffer
		var sRef, sGot delta.Scrape
		for round := range 40 {
			if round%9 == 8 {
				keys.forget(got.Generation())
				ref.Checkpoint()
				got.Checkpoint()
			}
			for target := range 3 {
				if g.rng.IntN(5) == 0 {
					continue
				}
				b := g.scrape(target)
				if g.rng.IntN(4) == 0 { // a series moves: later positions shift
					i, j := g.rng.IntN(len(b.Series)), g.rng.IntN(len(b.Series))
					b.Series[i], b.Series[j] = b.Series[j], b.Series[i]
				}
				if !deltaconv.ScrapeOf(b, &sRef, extra, &kb) {
					t.Fatal("deltaconv.ScrapeOf refused a float scrape")
				}
				taken := keys.scrapeOf(b, &sGot, got)
				merged := carries(b, extra)
				switch {
				case !taken && !merged:
					t.Fatal("seriesKeys refused a float scrape")
				case taken && merged && labelsAsIDs:
					t.Fatal("seriesKeys took a scrape whose series carry identity labels")
				case !taken:
					deltaconv.ScrapeOf(b, &sGot, extra, &kbGot)
				case labelsAsIDs && sGot.Keys == nil:
					t.Fatal("series keys taken, but the encoder was not given the label sets' strings")
				}
				// Metadata comes from a map: give both the same order.
				sGot.Metadata = append(sGot.Metadata[:0], sRef.Metadata...)
				want := ref.AppendFrame(nil, &sRef)
				have := got.AppendFrame(nil, &sGot)
				// Now and then (site > 0) got's frames change between keyed
				// and not, each change a full frame ref does not make.
				if site <= 0 && !bytes.Equal(want, have) {
					t.Fatalf("seed %d round %d target %d: frames differ (%d and %d bytes)", seed, round, target, len(want), len(have))
				}
			}
			g.ts += 15000
		}
	}
}

// TestSeriesKeysLeaveOtherBatches: a batch that is not a plain float scrape
// (a histogram, an exemplar, two samples of one series, remote_write) is
// left to deltaconv.ScrapeOf.
func TestSeriesKeysLeaveOtherBatches(t *testing.T) {
	ls := labels.FromStrings("__name__", "m", "job", "j")
	one := []relay.Sample{{T: 1, V: 1}}
	cases := map[string]*relay.Batch{
		"remote_write": {Series: []relay.Series{{Labels: ls, Samples: one}}},
		"histogram":    {Scrape: true, Series: []relay.Series{{Labels: ls, Histograms: []relay.HistogramSample{{T: 1}}}}},
		"exemplar":     {Scrape: true, Series: []relay.Series{{Labels: ls, Samples: one, Exemplars: []relay.Exemplar{{Value: 1}}}}},
		"two samples":  {Scrape: true, Series: []relay.Series{{Labels: ls, Samples: []relay.Sample{{T: 1}, {T: 2}}}}},
	}
	for name, b := range cases {
		var s delta.Scrape
		if newSeriesKeys(labels.EmptyLabels()).scrapeOf(b, &s, delta.NewEncoder(1)) {
			t.Errorf("%s: taken", name)
		}
	}
}
