package files

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// scrapeDirs returns every scrape directory below root (those holding a
// .json file), sorted, wherever the layout puts them.
func scrapeDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	return dirs
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withNative returns scrapeBatch(ts, 0.5) with a native histogram family
// (integer and float samples, a staleness marker) and exemplars.
func withNative(ts int64) *relay.Batch {
	b := scrapeBatch(ts, 0.5)
	id := []string{"instance", "10.0.0.1:9100", "job", "node", "site", "plant-7", "tenant", "acme"}
	b.Series[2].Exemplars = []relay.Exemplar{{Labels: labels.FromStrings("trace_id", "4bf92f"), Value: 3.5, Ts: ts - 7, HasTs: true}}
	b.Series = append(b.Series,
		relay.Series{
			Labels: labels.FromStrings(append([]string{"__name__", "rpc_duration_seconds", "method", "get"}, id...)...),
			Histograms: []relay.HistogramSample{{T: ts, H: &histogram.Histogram{
				Schema: 1, ZeroThreshold: 1e-3, ZeroCount: 1, Count: 6, Sum: 9.75,
				PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}, {Offset: 2, Length: 1}}, PositiveBuckets: []int64{2, -1, 1},
				NegativeSpans: []histogram.Span{{Offset: -1, Length: 1}}, NegativeBuckets: []int64{1},
			}}},
			Exemplars: []relay.Exemplar{{Labels: labels.FromStrings("trace_id", "77aa"), Value: 1.5}},
		},
		relay.Series{
			Labels: labels.FromStrings(append([]string{"__name__", "rpc_duration_seconds", "method", "put"}, id...)...),
			Histograms: []relay.HistogramSample{{T: ts - 1, FH: &histogram.FloatHistogram{
				CounterResetHint: histogram.GaugeType, Schema: histogram.CustomBucketsSchema, Count: 2.5, Sum: math.Float64frombits(0x7ff8000000000f00),
				PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{0.5, 2}, CustomValues: []float64{0.25, 1},
			}}},
		},
		relay.Series{
			Labels:     labels.FromStrings(append([]string{"__name__", "rpc_duration_seconds", "method", "gone"}, id...)...),
			Histograms: []relay.HistogramSample{{T: ts, H: &histogram.Histogram{Sum: math.Float64frombits(value.StaleNaN)}}},
		},
	)
	b.Metadata["rpc_duration_seconds"] = relay.Metadata{Type: "histogram", Help: "RPC latency."}
	return b
}

// TestWriteNativeHistogramsAndExemplars writes a scrape holding native
// histograms and exemplars: its .data.gz is byte for byte what the same
// scrape without them gives (promtool and float-only readers see nothing
// new), and its .native.gz reads back every histogram and exemplar exactly,
// the staleness marker left out. A scrape without them has no .native.gz.
func TestWriteNativeHistogramsAndExemplars(t *testing.T) {
	const ts = 1700000000123
	root, plain := t.TempDir(), t.TempDir()
	w, _ := newWriter(t, root)
	b := withNative(ts)
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	floats := withNative(ts)
	for i := range floats.Series {
		floats.Series[i].Histograms, floats.Series[i].Exemplars = nil, nil
	}
	wp, _ := newWriter(t, plain)
	if err := wp.Write("acme", "plant-7", floats); err != nil {
		t.Fatal(err)
	}

	dirs, plainDirs := scrapeDirs(t, root), scrapeDirs(t, plain)
	if len(dirs) != 1 || len(plainDirs) != 1 {
		t.Fatalf("scrape directories %v and %v, want one each", dirs, plainDirs)
	}
	name := filepath.Base(dirs[0])
	data := gunzipFile(t, filepath.Join(dirs[0], name+".data.gz"))
	if want := gunzipFile(t, filepath.Join(plainDirs[0], name+".data.gz")); !bytes.Equal(data, want) {
		t.Fatalf(".data.gz differs from the float-only scrape's:\n%s\nwant:\n%s", data, want)
	}
	if _, err := os.Stat(filepath.Join(plainDirs[0], name+nativeSuffix)); err == nil {
		t.Fatal("a scrape without histograms or exemplars has a .native.gz")
	}
	if _, err := os.Stat("/usr/bin/promtool"); err == nil {
		cmd := exec.Command("/usr/bin/promtool", "check", "metrics")
		cmd.Stdin = bytes.NewReader(data)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, data)
		}
	}

	native := gunzipFile(t, filepath.Join(dirs[0], name+nativeSuffix))
	got, err := expfmt.ParseNative(native)
	if err != nil {
		t.Fatalf("%v\n%s", err, native)
	}
	want := []relay.Series{
		{Labels: b.Series[2].Labels, Exemplars: b.Series[2].Exemplars},
		{Labels: b.Series[4].Labels, Histograms: b.Series[4].Histograms, Exemplars: b.Series[4].Exemplars},
		{Labels: b.Series[5].Labels, Histograms: b.Series[5].Histograms},
	}
	if len(got) != len(want) {
		t.Fatalf("native file holds %d series, want %d:\n%s", len(got), len(want), native)
	}
	for i := range want {
		if !labels.Equal(got[i].Labels, want[i].Labels) || len(got[i].Histograms) != len(want[i].Histograms) ||
			len(got[i].Exemplars) != len(want[i].Exemplars) {
			t.Fatalf("series %d: got %v, want %v", i, got[i], want[i])
		}
		for j, h := range want[i].Histograms {
			g := got[i].Histograms[j]
			switch {
			case h.H != nil && (g.H == nil || g.T != h.T || !g.H.Equals(h.H) || g.H.CounterResetHint != h.H.CounterResetHint):
				t.Fatalf("series %d: histogram %v at %d, want %v at %d", i, g.H, g.T, h.H, h.T)
			case h.FH != nil && (g.FH == nil || g.T != h.T || math.Float64bits(g.FH.Sum) != math.Float64bits(h.FH.Sum) ||
				g.FH.CounterResetHint != h.FH.CounterResetHint || !g.FH.Equals(h.FH)):
				t.Fatalf("series %d: float histogram %v at %d, want %v at %d", i, g.FH, g.T, h.FH, h.T)
			}
		}
		for j, e := range want[i].Exemplars {
			if !e.Equals(got[i].Exemplars[j]) || e.HasTs != got[i].Exemplars[j].HasTs {
				t.Fatalf("series %d: exemplar %v, want %v", i, got[i].Exemplars[j], e)
			}
		}
	}
	if bytes.Contains(native, []byte(`method="gone"`)) {
		t.Fatalf("a staleness marker was written:\n%s", native)
	}

	// A resend is a duplicate; the same scrape with another histogram is not.
	if err := w.Write("acme", "plant-7", withNative(ts)); err != nil {
		t.Fatal(err)
	}
	other := withNative(ts)
	other.Series[4].Histograms[0].H.Count++
	if err := w.Write("acme", "plant-7", other); err != nil {
		t.Fatal(err)
	}
	if dirs := scrapeDirs(t, root); len(dirs) != 2 {
		t.Fatalf("scrape directories %v, want the first and one for the changed scrape", dirs)
	}
}
