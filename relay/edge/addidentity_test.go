package edge

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// TestAddIdentityArena checks addIdentity against deltaconv.Merge, series by
// series, on batches whose label sets fill several arena chunks (values
// long enough for Prometheus' longer size encoding among them, a series
// with its own site, one with an external label's name, one empty, one
// with empty values, one with long names and values), after
// every batch is built, so that no label set was written over by a later
// one.
func TestAddIdentityArena(t *testing.T) {
	extra := labels.FromStrings("region", "eu", "site", "plant-7")
	var batches []*relay.Batch
	var want [][]labels.Labels
	for k := range 3 {
		b := &relay.Batch{}
		var w []labels.Labels
		for i := range 3000 {
			var ls labels.Labels
			switch {
			case i%1000 == 7:
				ls = labels.FromStrings("__name__", "m", "site", "own")
			case i%1000 == 8:
				ls = labels.FromStrings("__name__", "m", "region", "us")
			case i%1000 == 9:
				ls = labels.EmptyLabels()
			case i%1000 == 10:
				// An empty value, under an external label's name and not.
				ls = labels.FromStrings("__name__", "m", "a", "", "region", "", "z", "1")
			case i%1000 == 11:
				ls = labels.FromStrings("__name__", "m", strings.Repeat("n", 300), "v", "zz", strings.Repeat("w", 70000))
			default:
				ls = labels.FromStrings("__name__", fmt.Sprint("m", i%50), "job", "j",
					"long", strings.Repeat("v", i%600), "series", fmt.Sprint(k, "-", i))
			}
			b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: 1, V: 1}}})
			w = append(w, deltaconv.Merge(ls, extra))
		}
		addIdentity(b, extra)
		batches = append(batches, b)
		want = append(want, w)
	}
	for k, b := range batches {
		for i, s := range b.Series {
			if !labels.Equal(s.Labels, want[k][i]) || s.Labels.String() != want[k][i].String() {
				t.Fatalf("batch %d series %d: %s, want %s", k, i, s.Labels, want[k][i])
			}
		}
	}
}

// TestAddIdentityReusedArena: an arena reset after each batch (as
// submitIdentified does once the batch is committed) builds every later
// batch's label sets right, whether the batch fits the arena's chunk or
// needs several.
func TestAddIdentityReusedArena(t *testing.T) {
	extra := labels.FromStrings("region", "eu", "site", "plant-7")
	var a labelArena
	for k, n := range []int{10, 3000, 3000, 1, 5000, 20} {
		b := &relay.Batch{}
		var want []labels.Labels
		for i := range n {
			ls := labels.FromStrings("__name__", fmt.Sprint("m", i%50), "job", "j",
				"long", strings.Repeat("v", i%100), "series", fmt.Sprint(k, "-", i))
			b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: 1, V: 1}}})
			want = append(want, deltaconv.Merge(ls, extra))
		}
		addIdentityIn(&a, b, extra)
		for i, s := range b.Series {
			if !labels.Equal(s.Labels, want[i]) || s.Labels.String() != want[i].String() {
				t.Fatalf("batch %d series %d: %s, want %s", k, i, s.Labels, want[i])
			}
		}
		a.reset()
	}
}
