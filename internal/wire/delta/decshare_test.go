package delta

import (
	"strings"
	"testing"
	"unsafe"
)

// TestDecoderIndexBuiltWhenNeeded: a target's base keeps no index of its
// label sets until a frame adds series, and one that then adds a label
// set the base holds (here given to the decoder by ShareKeys) is still
// refused.
func TestDecoderIndexBuiltWhenNeeded(t *testing.T) {
	x, y := string(AppendLabel(nil, "__name__", "x")), string(AppendLabel(nil, "__name__", "y"))
	scrape := func(keys ...string) *Scrape {
		s := &Scrape{Target: TargetKey("j", "i"), Attrs: "a", Timestamp: 1000}
		for _, k := range keys {
			s.Series = append(s.Series, Series{Labels: k, T: 1000, V: 1})
		}
		return s
	}
	// Two encoders of one generation: b's full frame holds x and y, a's
	// second frame adds y on top of its first, which held only x.
	a, b := NewEncoder(7), NewEncoder(7)
	a.AppendFrame(nil, scrape(x))
	adds := a.AppendFrame(nil, scrape(x, y))
	full := b.AppendFrame(nil, scrape(x, y))

	d := NewDecoder()
	if _, err := d.Apply(full); err != nil {
		t.Fatal(err)
	}
	st := d.targets[TargetKey("j", "i")]
	if st.index != nil {
		t.Fatal("a full frame left an index of its label sets")
	}
	own := strings.Clone(y)
	d.ShareKeys(TargetKey("j", "i"), []uint32{1, 0, 9}, []string{own, "other", own})
	if st.slots[1].key() != y || unsafe.StringData(st.slots[1].key()) != unsafe.StringData(own) {
		t.Fatal("ShareKeys did not take the caller's equal copy")
	}
	if st.slots[0].key() != x {
		t.Fatalf("ShareKeys replaced x by an unequal key: %q", st.slots[0].key())
	}
	_, err := d.Apply(adds)
	if err == nil || !strings.Contains(err.Error(), "already known") {
		t.Fatalf("frame adding a known label set: %v, want it refused", err)
	}
	if st.index == nil || len(st.index) != 2 {
		t.Fatalf("index %v after a frame that adds series, want both label sets", st.index)
	}
}
