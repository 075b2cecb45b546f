package sd

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// FuzzDecodeGroups feeds untrusted bytes to the file_sd (JSON and YAML)
// and http_sd decoders: they never panic, and what they accept is a list
// of non-nil groups carrying their Source and meta label, which survives
// a JSON round trip.
func FuzzDecodeGroups(f *testing.F) {
	for _, s := range []string{
		`[{"targets":["h1:9100"],"labels":{"rack":"r1"}}]`, `[]`, `[null]`, `[{"targets":[1]}]`, `{}`,
		"- targets: ['h1:9100']\n  labels: {a: b}\n", "- targets: []\n", "- null\n", "[{targets: [a], x: 1}]",
		`[{"targets":["a"],"labels":{"__meta_url":"x","é":"ü"}}]`,
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, kind uint8) {
		var (
			tgs  []*targetgroup.Group
			err  error
			meta model.LabelName
			src  string
		)
		switch kind % 3 {
		case 0:
			src, meta = "/sd/a.json", fileSDLabel
			tgs, err = DecodeFileGroups(b, src)
		case 1:
			src, meta = "/sd/a.yml", fileSDLabel
			tgs, err = DecodeFileGroups(b, src)
		default:
			src, meta = "http://sd.test/t", httpURLLabel
			tgs, err = DecodeHTTPGroups(b, src)
		}
		if err != nil {
			return
		}
		for i, g := range tgs {
			if g == nil || g.Source != fileSource(src, i) || g.Labels[meta] != model.LabelValue(src) {
				t.Fatalf("group %d: %+v", i, g)
			}
		}
		out, err := json.Marshal(tgs)
		if err != nil {
			t.Fatalf("marshal %v: %v", tgs, err)
		}
		again, err := DecodeHTTPGroups(out, src)
		if err != nil {
			t.Fatalf("decode own JSON %s: %v", out, err)
		}
		for i := range again {
			if v, had := tgs[i].Labels[httpURLLabel]; had {
				again[i].Labels[httpURLLabel] = v
			} else {
				delete(again[i].Labels, httpURLLabel)
			}
			again[i].Labels[meta] = model.LabelValue(src)
			again[i].Source = tgs[i].Source
			if len(again[i].Targets) == 0 && len(tgs[i].Targets) == 0 {
				again[i].Targets = tgs[i].Targets
			}
		}
		if !reflect.DeepEqual(again, tgs) {
			t.Fatalf("round trip:\n got %v\nwant %v", again, tgs)
		}
	})
}
