package expfmt

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// FuzzRoundTrip writes random names, label values, help texts and floats
// and requires Prometheus' parser to read back exactly what was written
// (invalid UTF-8 turned into U+FFFD, NaNs compared as NaN).
func FuzzRoundTrip(f *testing.F) {
	f.Add("up", "path", "C:\\x\"y\"\nz", "help \\ me\n", uint64(0x3ff0000000000000), int64(1000))
	f.Add("my.metric", "label.name", "", "", uint64(0x7ff0000000000002), int64(-5))
	f.Add("a{b}", "é", "\xff", "\x00", uint64(0x8000000000000000), int64(math.MaxInt64-1))
	f.Fuzz(func(t *testing.T, name, lname, lvalue, help string, bits uint64, ts int64) {
		name, lname = noNUL(name), noNUL(lname)
		if name == "" || lname == "" || lname == "__name__" || lname == "job" || lvalue == "" ||
			ts < 0 || ts == math.MaxInt64 { // the text format has no negative timestamps

			t.Skip()
		}
		name, lname, lvalue = validUTF8(name), validUTF8(lname), validUTF8(lvalue)
		v := math.Float64frombits(bits)
		b := &relay.Batch{
			Series: []relay.Series{
				{Labels: labels.FromStrings("__name__", name, lname, lvalue, "job", "j"), Samples: []relay.Sample{{T: ts, V: v}}},
				{Labels: labels.FromStrings("__name__", name, "job", "k"), Samples: []relay.Sample{{T: ts, V: -v}, {T: ts + 1, V: v}}},
			},
			Metadata: map[string]relay.Metadata{name: {Type: "gauge", Help: help}},
		}
		var buf bytes.Buffer
		if err := Write(&buf, b, Options{}); err != nil {
			t.Fatal(err)
		}
		p, err := parseText(buf.Bytes())
		if err != nil {
			t.Fatalf("textparse: %v\n%q", err, buf.Bytes())
		}
		checkSamples(t, b, p, nil, nil)
		wantHelp := noNUL(validUTF8(help))
		// Help made only of blanks reads back empty: the format cannot say it.
		if strings.Trim(wantHelp, " \t") != "" && p.help[name] != wantHelp {
			t.Fatalf("help %q, want %q", p.help[name], wantHelp)
		}
		if strings.Count(buf.String(), "# TYPE") != 1 {
			t.Fatalf("want one TYPE line:\n%s", buf.Bytes())
		}
	})
}
