package delta

import (
	"slices"
	"testing"
	"unsafe"
)

// TestReleaseReusesArrays: a decoder whose every scrape is released once
// read returns, through churn, histograms, shared keys and new
// generations, the same scrapes as one whose scrapes are kept, and its
// scrapes do reuse released arrays.
func TestReleaseReusesArrays(t *testing.T) {
	g := newGen(11, 2, 60)
	g.hist = true
	enc := NewEncoder(1)
	kept, released := NewDecoder(), NewDecoder()
	var last *Series
	reused := 0
	for round := range 120 {
		if round%40 == 39 {
			enc.Checkpoint()
		}
		for i := range g.targets {
			s := g.scrape(i)
			frame := enc.AppendFrame(nil, s)
			got, err := released.Apply(frame)
			if err != nil {
				t.Fatal(err)
			}
			want, err := kept.Apply(frame) // after: it would take the released arrays
			if err != nil {
				t.Fatal(err)
			}
			sameScrape(t, s, got)
			if !slices.Equal(want.Series, got.Series) || !slices.Equal(want.Data, got.Data) || !slices.Equal(want.Metadata, got.Metadata) || len(want.Extras) != len(got.Extras) {
				t.Fatalf("round %d: a released decoder's scrape differs from a kept one's", round)
			}
			if cap(got.Series) > 0 && unsafe.SliceData(got.Series[:1]) == last {
				reused++
			}
			// Share the keys as the cloud's Rebuilder does, so that the
			// scrapes carry Data.
			ids, keys := []uint32{}, []string{}
			for _, sr := range got.Series {
				if sr.ID%3 == 0 {
					ids, keys = append(ids, sr.ID), append(keys, sr.Labels+"\xff")
				}
			}
			kept.ShareKeys(s.Target, ids, keys)
			released.ShareKeys(s.Target, ids, keys)
			if cap(got.Series) > 0 {
				last = unsafe.SliceData(got.Series[:1])
			}
			Release(got)
			if got.Series != nil || got.Data != nil {
				t.Fatal("Release left the scrape its arrays")
			}
		}
	}
	// sync.Pool drops some of what it is given under the race detector,
	// and whatever it holds at a collection: most, not all, are reused.
	t.Logf("%d of 240 scrapes reused the arrays just released", reused)
	if reused < 40 {
		t.Fatalf("%d of 240 scrapes reused the arrays just released", reused)
	}
}
