package deltaconv

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// TestRebuilderSharesKeys: a Rebuilder sharing its label sets with its
// decoder (ShareWith) rebuilds what one that does not rebuilds, through
// churn and new generations, and afterwards the decoder's key of a series
// whose labels all sort before the tenant label lies inside the series'
// label set; a series with a label after it keeps a key of its own.
func TestRebuilderSharesKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	enc := delta.NewEncoder(1)
	plainDec, sharedDec := delta.NewDecoder(), delta.NewDecoder()
	plain, shared := NewRebuilder("tenant", "acme"), NewRebuilder("tenant", "acme")
	shared.ShareWith(sharedDec)
	ids := make([]int, 40)
	for i := range ids {
		ids[i] = i
	}
	var kb KeyBuffer
	var s delta.Scrape
	inside, own := 0, 0
	prev := map[uint32]string{} // label set data of the last round by id
	for round := range 50 {
		if round%17 == 16 {
			enc.Checkpoint()
		}
		ids[rng.IntN(len(ids))] = 1000 + round
		ts := int64(1000 * (round + 1))
		b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Timestamp: ts}
		for k, id := range ids {
			if rng.IntN(8) == 0 {
				continue
			}
			ls := labels.FromStrings("__name__", "m", "id", fmt.Sprint(id))
			if k%5 == 0 {
				ls = labels.FromStrings("__name__", "m", "id", fmt.Sprint(id), "zone", "z")
			}
			b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: ts, V: float64(round)}}})
		}
		if !ScrapeOf(b, &s, labels.EmptyLabels(), &kb) {
			t.Fatal("scrape refused")
		}
		frame := enc.AppendFrame(nil, &s)
		ps, err := plainDec.Apply(frame)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := sharedDec.Apply(frame)
		if err != nil {
			t.Fatal(err)
		}
		for i, sr := range ss.Series {
			// The key the decoder holds for a series seen in the last
			// round lies inside the label set rebuilt then, unless a
			// label sorts after the tenant.
			if within(sr.Labels, prev[sr.ID]) {
				inside++
				if strings.Contains(sr.Labels, "zone") {
					t.Fatalf("round %d: key %q shared though a label sorts after the tenant", round, sr.Labels)
				}
			} else if prev[sr.ID] != "" {
				own++
			}
			if sr.Labels != ps.Series[i].Labels || sr.ID != ps.Series[i].ID {
				t.Fatalf("round %d series %d: decoded key %q id %d, want %q id %d", round, i, sr.Labels, sr.ID, ps.Series[i].Labels, ps.Series[i].ID)
			}
		}
		want, err := plain.Batch(ps)
		if err != nil {
			t.Fatal(err)
		}
		got, err := shared.Batch(ss)
		if err != nil {
			t.Fatal(err)
		}
		for i, sr := range got.Series {
			if !labels.Equal(sr.Labels, want.Series[i].Labels) || sr.Samples[0] != want.Series[i].Samples[0] {
				t.Fatalf("round %d series %d: %s %v, want %s %v", round, i, sr.Labels, sr.Samples, want.Series[i].Labels, want.Series[i].Samples)
			}
		}
		prev = map[uint32]string{}
		for i, sr := range got.Series {
			prev[ss.Series[i].ID], _ = labelsData(sr.Labels)
		}
	}
	if inside == 0 || own == 0 {
		t.Fatalf("%d keys inside their label sets, %d of their own; want some of each", inside, own)
	}
}

// within reports whether s lies inside the memory of outer.
func within(s, outer string) bool {
	if s == "" || outer == "" {
		return false
	}
	p, o := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(outer)))
	return p >= o && p+uintptr(len(s)) <= o+uintptr(len(outer))
}
