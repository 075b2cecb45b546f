package host

import (
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

func TestDecodeSeriesResponse(t *testing.T) {
	replace := func(ls ...abi.Label) []byte {
		b := abi.AppendU32(nil, 1)
		b = append(b, abi.OpReplace)
		return abi.AppendLabels(b, ls)
	}
	cases := []struct {
		name string
		in   []byte
		want int
		ok   bool
	}{
		{"keep", []byte{1, 0, 0, 0, abi.OpKeep}, 1, true},
		{"drop", []byte{1, 0, 0, 0, abi.OpDrop}, 1, true},
		{"replace", replace(abi.Label{Name: "b", Value: "2"}, abi.Label{Name: "a", Value: "1"}), 1, true},
		{"count mismatch", []byte{2, 0, 0, 0, 0, 0}, 1, false},
		{"unknown op", []byte{1, 0, 0, 0, 9}, 1, false},
		{"truncated", []byte{1, 0, 0}, 1, false},
		{"trailing bytes", []byte{1, 0, 0, 0, 0, 7}, 1, false},
		{"empty name", replace(abi.Label{Name: "", Value: "x"}), 1, false},
		{"empty value", replace(abi.Label{Name: "a", Value: ""}), 1, false},
		{"invalid utf8", replace(abi.Label{Name: "a\xff", Value: "x"}), 1, false},
		{"duplicate", replace(abi.Label{Name: "a", Value: "x"}, abi.Label{Name: "a", Value: "y"}), 1, false},
		{"empty set", replace(), 1, false},
		{"too many labels", append([]byte{1, 0, 0, 0, abi.OpReplace}, 0xff, 0xff, 0xff, 0xff), 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sb labels.ScratchBuilder
			var got []labels.Labels
			err := decodeSeriesResponse(abi.NewReader(tc.in), tc.want, &sb, func(op byte, ls labels.Labels) { got = append(got, ls) })
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v; want ok=%v", err, tc.ok)
			}
			if tc.name == "replace" && got[0].String() != `{a="1", b="2"}` {
				t.Errorf("replaced labels = %s; want them sorted", got[0])
			}
		})
	}
}

// FuzzDecodeSeriesResponse feeds random bytes as guest output: the decoder
// must return an error or labels that are valid, never panic.
func FuzzDecodeSeriesResponse(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0}, uint8(1))
	f.Add(abi.AppendLabels([]byte{1, 0, 0, 0, 2}, []abi.Label{{Name: "a", Value: "b"}}), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, want uint8) {
		var sb labels.ScratchBuilder
		_ = decodeSeriesResponse(abi.NewReader(b), int(want), &sb, func(op byte, ls labels.Labels) {
			if op != abi.OpReplace {
				return
			}
			if _, dup := ls.HasDuplicateLabelNames(); dup || ls.IsEmpty() || !ls.IsValid(model.UTF8Validation) {
				t.Fatalf("decoder let through %s", ls)
			}
		})
	})
}

// FuzzReaderSamples feeds random bytes to the columnar samples decoder.
func FuzzReaderSamples(f *testing.F) {
	var s abi.Samples
	s.Append(1, 2, 3)
	f.Add(abi.AppendSamples(nil, &s))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got abi.Samples
		if err := abi.NewReader(b).Samples(&got); err == nil && (len(got.T) != len(got.Refs) || len(got.V) != len(got.Refs)) {
			t.Fatalf("columns of unequal length")
		}
	})
}
