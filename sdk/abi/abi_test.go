package abi

import (
	"errors"
	"slices"
	"testing"
)

func TestLabelsRoundTrip(t *testing.T) {
	in := []Label{{"__name__", "up"}, {"job", "node"}, {"empty", ""}}
	b := AppendLabels(nil, in)
	got, err := NewReader(b).AppendLabelsTo(nil)
	if err != nil || !slices.Equal(got, in) {
		t.Fatalf("got %v, %v", got, err)
	}
	for cut := range len(b) {
		if _, err := NewReader(b[:cut]).AppendLabelsTo(nil); err == nil {
			t.Fatalf("truncated at %d: no error", cut)
		}
	}
}

func TestStatus(t *testing.T) {
	var ge *GuestError
	if err := NewReader(AppendError(nil, "nope")).Status(); !errors.As(err, &ge) || ge.Msg != "nope" {
		t.Fatalf("err = %v", err)
	}
	if err := NewReader([]byte{7, 0, 0, 0}).Status(); err == nil || errors.As(err, &ge) {
		t.Fatalf("unknown status: err = %v", err)
	}
}

func TestPackResult(t *testing.T) {
	if p, n := UnpackResult(PackResult(0xdeadbeef, 42)); p != 0xdeadbeef || n != 42 {
		t.Fatalf("got %x %d", p, n)
	}
}

// FuzzReader decodes random bytes as a Labels layout: errors, never panics,
// and every string it returns lies within the input.
func FuzzReader(f *testing.F) {
	f.Add(AppendLabels(nil, []Label{{"a", "b"}}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := NewReader(b).AppendLabelsTo(nil)
		if err != nil {
			return
		}
		total := 4
		for _, l := range ls {
			total += 8 + len(l.Name) + len(l.Value)
		}
		if total > len(b) {
			t.Fatalf("decoded %d bytes from %d", total, len(b))
		}
	})
}
