package deltaconv

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// TestRebuilderKeepsLabels: through churn, a forged tenant label and new
// generations, every batch a Rebuilder makes (its arrays reused from one
// scrape to the next) equals BatchOf's with the tenant set, and a series
// seen before keeps the very label set it had.
func TestRebuilderKeepsLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	enc, dec := delta.NewEncoder(1), delta.NewDecoder()
	rb := NewRebuilder("tenant", "acme")
	ids := make([]int, 50)
	for i := range ids {
		ids[i] = i
	}
	var kb KeyBuffer
	var s delta.Scrape
	prev := map[string]labels.Labels{}
	reused := 0
	var arrays Arrays
	for round := range 60 {
		if round%20 == 19 {
			enc.Checkpoint()
		}
		ids[rng.IntN(len(ids))] = 1000 + round // churn
		ts := int64(1000 * (round + 1))
		b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Timestamp: ts, TargetLabels: labels.FromStrings("zone", fmt.Sprint(round/30))}
		for k, id := range ids {
			if rng.IntN(10) == 0 {
				continue // absent this scrape
			}
			ls := labels.FromStrings("__name__", "m", "id", fmt.Sprint(id))
			if k == 0 {
				ls = labels.FromStrings("__name__", "m", "id", fmt.Sprint(id), "tenant", "forged")
			}
			b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: ts, V: float64(round)}}})
		}
		if !ScrapeOf(b, &s, labels.EmptyLabels(), &kb) {
			t.Fatal("scrape refused")
		}
		scr, err := dec.Apply(enc.AppendFrame(nil, &s))
		if err != nil {
			t.Fatal(err)
		}
		got, err := rb.BatchInto(scr, &arrays)
		if err != nil {
			t.Fatal(err)
		}
		want, err := BatchOf(scr)
		if err != nil {
			t.Fatal(err)
		}
		if !labels.Equal(got.TargetLabels, want.TargetLabels) || len(got.Series) != len(want.Series) {
			t.Fatalf("round %d: target labels %s, %d series; want %s, %d", round, got.TargetLabels, len(got.Series), want.TargetLabels, len(want.Series))
		}
		for i, sr := range got.Series {
			w := labels.NewBuilder(want.Series[i].Labels).Set("tenant", "acme").Labels()
			if !labels.Equal(sr.Labels, w) || sr.Samples[0] != want.Series[i].Samples[0] || len(sr.Samples) != 1 {
				t.Fatalf("round %d series %d: %s %v, want %s %v", round, i, sr.Labels, sr.Samples, w, want.Series[i].Samples)
			}
			key := sr.Labels.String()
			if p, ok := prev[key]; ok && labelsAddr(p) == labelsAddr(sr.Labels) {
				reused++
			}
			prev[key] = sr.Labels
		}
	}
	if reused < 60*40 {
		t.Fatalf("label sets reused %d times; want most series of every scrape", reused)
	}
}

// labelsAddr identifies the memory holding a label set (a string or a
// slice, by labels' build tags).
func labelsAddr(ls labels.Labels) uintptr {
	v := reflect.ValueOf(ls).Field(0)
	switch v.Kind() {
	case reflect.String:
		return uintptr(unsafe.Pointer(unsafe.StringData(v.String())))
	case reflect.Slice:
		return v.Pointer()
	}
	return 0
}
