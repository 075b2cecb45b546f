package deltaconv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// TestScrapeKeysMergeIdentity: the keys ScrapeOf builds are exactly the
// canonical form of Merge(labels, extra), for random label sets and
// identity labels that overlap them, and they survive BatchOf.
func TestScrapeKeysMergeIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"__name__", "a", "instance", "job", "region", "site", "zone"}
	random := func(n int) labels.Labels {
		var b labels.ScratchBuilder
		seen := map[string]bool{}
		for range n {
			name := names[rng.IntN(len(names))]
			if !seen[name] {
				seen[name] = true
				b.Add(name, fmt.Sprint("v", rng.IntN(3)))
			}
		}
		b.Sort()
		return b.Labels()
	}
	var kb KeyBuffer
	var s delta.Scrape
	for round := range 200 {
		extra := random(rng.IntN(4))
		b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Timestamp: 5}
		for range 20 {
			b.Series = append(b.Series, relay.Series{Labels: random(1 + rng.IntN(6)), Samples: []relay.Sample{{T: 5, V: 1}}})
		}
		if !ScrapeOf(b, &s, extra, &kb) {
			t.Fatal("scrape refused")
		}
		for i, sr := range b.Series {
			want := Merge(sr.Labels, extra)
			if got := s.Series[i].Labels; got != string(appendCanonical(nil, want)) {
				t.Fatalf("round %d: key of %s with %s is %q, want the canonical form of %s", round, sr.Labels, extra, got, want)
			}
			if want.Has("site") != (sr.Labels.Has("site") || extra.Has("site")) {
				t.Fatalf("site lost: %s + %s = %s", sr.Labels, extra, want)
			}
		}
	}
}
