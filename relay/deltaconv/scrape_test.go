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

// TestMergeMatchesBuilder: Merge gives what labels.Builder makes of the
// rule (site replaces, other identity labels fill only absent or empty
// labels, an empty value is an absent label), for random label sets with
// empty values on both sides, one reused scratch builder across series.
func TestMergeMatchesBuilder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	names := []string{"__name__", "a", "instance", "job", "region", "site", "zone"}
	values := []string{"", "v0", "v1"}
	random := func(n int) labels.Labels {
		var b labels.ScratchBuilder
		seen := map[string]bool{}
		for range n {
			name := names[rng.IntN(len(names))]
			if !seen[name] {
				seen[name] = true
				b.Add(name, values[rng.IntN(len(values))])
			}
		}
		b.Sort()
		return b.Labels()
	}
	var sb labels.ScratchBuilder
	for round := range 2000 {
		ls, extra := random(rng.IntN(7)), random(rng.IntN(4))
		b := labels.NewBuilder(ls)
		extra.Range(func(l labels.Label) {
			if l.Name == "site" || ls.Get(l.Name) == "" {
				b.Set(l.Name, l.Value)
			}
		})
		want := b.Labels()
		if got := MergeInto(&sb, ls, LabelSlice(nil, extra)); !labels.Equal(got, want) {
			t.Fatalf("round %d: MergeInto(%s, %s) = %s, want %s", round, ls, extra, got, want)
		}
		if got := Merge(ls, extra); !labels.Equal(got, want) {
			t.Fatalf("round %d: Merge(%s, %s) = %s, want %s", round, ls, extra, got, want)
		}
	}
}
