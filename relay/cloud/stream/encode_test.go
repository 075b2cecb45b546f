package stream

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

func TestValueAsPrometheusWritesIt(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{1, `"1"`}, {0, `"0"`}, {-2.5, `"-2.5"`}, {1e-7, `"1e-07"`}, {1e21, `"1e+21"`},
		{123456789012, `"123456789012"`}, {math.NaN(), `"NaN"`}, {math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`},
	} {
		if got := string(appendValue(nil, tc.v)); got != tc.want {
			t.Errorf("appendValue(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// line is one decoded stream line.
type line struct {
	Metric    map[string]string `json:"metric"`
	Timestamp int64             `json:"timestamp"`
	Value     string            `json:"value"`
	Stale     bool              `json:"stale"`
	Histogram *struct {
		Count   string  `json:"count"`
		Sum     string  `json:"sum"`
		Buckets [][]any `json:"buckets"`
	} `json:"histogram"`
	End string `json:"end"`
}

func decodeLines(t *testing.T, b []byte) []line {
	t.Helper()
	var out []line
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		out = append(out, x)
	}
	return out
}

func TestSeriesLines(t *testing.T) {
	s := relay.Series{
		Labels:  labels.FromStrings("__name__", "req", "path", "/a\"b\n\\", "job", "j"),
		Samples: []relay.Sample{{T: 1000, V: 1}, {T: 3000, V: math.Float64frombits(value.StaleNaN)}},
		Histograms: []relay.HistogramSample{{T: 2000, H: &histogram.Histogram{
			Count: 5, Sum: 2.5, Schema: 0, ZeroCount: 1, ZeroThreshold: 0.001,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{1, 2},
		}}},
	}
	buf, _, n := appendSeries(nil, nil, &s)
	if n != 2 {
		t.Errorf("samples counted %d, want 2 (the marker is not one)", n)
	}
	got := decodeLines(t, buf)
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(got), buf)
	}
	if got[0].Timestamp != 1000 || got[0].Value != "1" || got[0].Metric["path"] != "/a\"b\n\\" || got[0].Metric["__name__"] != "req" {
		t.Errorf("float line: %+v", got[0])
	}
	h := got[1].Histogram
	if got[1].Timestamp != 2000 || h == nil || h.Count != "5" || h.Sum != "2.5" {
		t.Fatalf("histogram line (merged in timestamp order): %s", buf)
	}
	// Zero bucket [-0.001, 0.001] closed both sides, (0.5,1] and (1,2] with 1 and 3.
	want := [][]any{{3.0, "-0.001", "0.001", "1"}, {0.0, "0.5", "1", "1"}, {0.0, "1", "2", "3"}}
	if len(h.Buckets) != len(want) {
		t.Fatalf("buckets %v, want %v", h.Buckets, want)
	}
	for i := range want {
		for j := range want[i] {
			if h.Buckets[i][j] != want[i][j] {
				t.Errorf("bucket %d: %v, want %v", i, h.Buckets[i], want[i])
			}
		}
	}
	if !got[2].Stale || got[2].Value != "" || got[2].Timestamp != 3000 {
		t.Errorf("marker line: %+v", got[2])
	}
}

// FuzzAppendString checks that any label value, as an edge may send it,
// becomes one JSON string that decodes to the value (invalid UTF-8 as
// U+FFFD) and never breaks the line.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\\n\t\x00\x7f", "\xff\xfe", "é\u2028x\u2029", "\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		if strings.ContainsAny(string(b), "\n\r") {
			t.Fatalf("raw line break in %q", b)
		}
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		// Each byte that is not UTF-8 becomes one U+FFFD, as ranging
		// over the string reads it.
		want := strings.Map(func(r rune) rune { return r }, s)
		if got != want {
			t.Fatalf("%q decodes to %q, want %q", s, got, want)
		}
	})
}
