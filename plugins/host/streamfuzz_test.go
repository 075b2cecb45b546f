package host

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// FuzzStreamOut decodes any bytes as the part of a StreamResponse after
// the kept samples: an error or a result whose every label set is valid
// (non-empty names and values, __name__ aside, no duplicates), never a
// panic, and nothing decoded past the input.
func FuzzStreamOut(f *testing.F) {
	var o abi.StreamOut
	o.Declare = []abi.Decl{{ID: 7, Labels: []abi.Label{{Name: "__name__", Value: "x:1m_sum"}, {Name: "job", Value: "j"}},
		Meta: abi.Metadata{Type: "gauge", Help: "h"}}}
	o.Retire = []uint32{3}
	o.Samples.Append(7, 1000, 1.5)
	good := abi.AppendStreamResponse(nil, &abi.Samples{}, &o)[4:] // past the empty kept samples
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(good, 0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var resp native.Response
		var sb labels.ScratchBuilder
		if err := decodeStreamOut(abi.NewReader(b), &resp, &sb); err != nil {
			return
		}
		for _, d := range resp.Declare {
			if d.Labels.IsEmpty() {
				t.Fatalf("series %d declared with no labels", d.ID)
			}
			d.Labels.Range(func(l labels.Label) {
				if l.Name == "" || l.Value == "" {
					t.Fatalf("series %d: empty name or value in %s", d.ID, d.Labels)
				}
			})
		}
		if resp.Samples.Len()*20+len(resp.Retire)*4 > len(b) {
			t.Fatalf("decoded more than the input holds")
		}
	})
}
