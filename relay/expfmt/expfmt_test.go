package expfmt

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

func series(t int64, v float64, kv ...string) relay.Series {
	return relay.Series{Labels: labels.FromStrings(kv...), Samples: []relay.Sample{{T: t, V: v}}}
}

// sampleBatch has every kind of family, escaping and a family split in two
// places of the batch.
func sampleBatch() *relay.Batch {
	return &relay.Batch{
		Scrape: true, Job: "api", Instance: "host:9100", Timestamp: 1000,
		Series: []relay.Series{
			series(1000, 1027, "__name__", "http_requests_total", "code", "200", "job", "api"),
			series(1000, 8, "__name__", "go_goroutines", "job", "api"),
			series(1000, 3, "__name__", "req_seconds_bucket", "le", "0.1", "job", "api"),
			series(1000, 5, "__name__", "req_seconds_bucket", "le", "+Inf", "job", "api"),
			series(1000, 1.5, "__name__", "req_seconds_sum", "job", "api"),
			series(1000, 5, "__name__", "req_seconds_count", "job", "api"),
			series(999, 0.2, "__name__", "rpc_seconds", "quantile", "0.5", "job", "api"),
			series(1000, 9, "__name__", "rpc_seconds_sum", "job", "api"),
			series(1000, 40, "__name__", "rpc_seconds_count", "job", "api"),
			series(1000, math.NaN(), "__name__", "weird", "path", "C:\\dir \"x\"\nnext", "job", "api"),
			series(1000, math.Inf(1), "__name__", "my.metric", "label.name", "v", "job", "api"),
			series(1000, -0.000125, "__name__", "http_requests_total", "code", "500", "job", "api"),
		},
		Metadata: map[string]relay.Metadata{
			"http_requests": {Type: "counter", Help: "Requests served.\nSecond line \\ backslash"},
			"go_goroutines": {Type: "gauge", Help: "Goroutines."},
			"req_seconds":   {Type: "histogram", Help: "Request latency."},
			"rpc_seconds":   {Type: "summary", Help: "RPC latency."},
			"my.metric":     {Type: "gauge", Help: "dotted"},
		},
	}
}

func TestEncodeGolden(t *testing.T) {
	want := `# HELP go_goroutines Goroutines.
# TYPE go_goroutines gauge
go_goroutines{job="api"} 8 1000
# HELP http_requests_total Requests served.\nSecond line \\ backslash
# TYPE http_requests_total counter
http_requests_total{code="200",job="api"} 1027 1000
http_requests_total{code="500",job="api"} -0.000125 1000
# HELP "my.metric" dotted
# TYPE "my.metric" gauge
{"my.metric",job="api","label.name"="v"} +Inf 1000
# HELP req_seconds Request latency.
# TYPE req_seconds histogram
req_seconds_bucket{job="api",le="0.1"} 3 1000
req_seconds_bucket{job="api",le="+Inf"} 5 1000
req_seconds_sum{job="api"} 1.5 1000
req_seconds_count{job="api"} 5 1000
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{job="api",quantile="0.5"} 0.2 999
rpc_seconds_sum{job="api"} 9 1000
rpc_seconds_count{job="api"} 40 1000
weird{job="api",path="C:\\dir \"x\"\nnext"} NaN 1000
`
	var buf bytes.Buffer
	if err := Write(&buf, sampleBatch(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestEscapeNames(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleBatch(), Options{EscapeNames: true}); err != nil {
		t.Fatal(err)
	}
	want := "# HELP my_metric dotted\n# TYPE my_metric gauge\nmy_metric{job=\"api\",label_name=\"v\"} +Inf 1000\n"
	if !strings.Contains(buf.String(), want) {
		t.Fatalf("escaped names missing:\n%s", buf.String())
	}
	for _, tc := range []struct{ in, metric, label string }{
		{"a.b-c", "a_b_c", "a_b_c"},
		{"9lives", "_lives", "_lives"},
		{"a:b", "a:b", "a_b"},
		{"ünï", "_n_", "_n_"},
		{"", "_", "_"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := string(appendEscaped(nil, tc.in, true)); got != tc.metric {
				t.Errorf("metric name %q -> %q, want %q", tc.in, got, tc.metric)
			}
			if got := string(appendEscaped(nil, tc.in, false)); got != tc.label {
				t.Errorf("label name %q -> %q, want %q", tc.in, got, tc.label)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   float64
		want string
	}{
		{"one", 1, "1"},
		{"zero", 0, "0"},
		{"negative zero", math.Copysign(0, -1), "-0"},
		{"nan", math.NaN(), "NaN"},
		{"stale nan", math.Float64frombits(value.StaleNaN), "NaN"},
		{"plus inf", math.Inf(1), "+Inf"},
		{"minus inf", math.Inf(-1), "-Inf"},
		{"fraction", 0.1, "0.1"},
		{"large", 1e21, "1e+21"},
		{"integer", 123456789, "1.23456789e+08"},
		{"six digits", 999999, "999999"},
		{"seven digits", 1e6, "1e+06"},
		{"negative integer", -999999, "-999999"},
		{"round", 100000, "100000"},
		{"small", 5e-324, "5e-324"},
		{"max", math.MaxFloat64, "1.7976931348623157e+308"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendFloat(nil, tc.in)); got != tc.want {
				t.Fatalf("AppendFloat(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestAppendFloatSpellsAsStrconv: every finite value but zero is spelled
// as strconv's shortest 'g' spells it, integers around the six-digit
// boundary included.
func TestAppendFloatSpellsAsStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var in []float64
	for i := -1_100_000.0; i <= 1_100_000; i += 997 {
		in = append(in, i, i+0.5, math.Nextafter(i, 0))
	}
	for range 100000 {
		in = append(in, math.Float64frombits(r.Uint64()), float64(r.Int64N(3e6)-1.5e6), r.NormFloat64()*1e7)
	}
	for _, f := range in {
		if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if got, want := string(AppendFloat(nil, f)), strconv.FormatFloat(f, 'g', -1, 64); got != want {
			t.Fatalf("AppendFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	b := sampleBatch()
	var buf bytes.Buffer
	if err := Write(&buf, b, Options{}); err != nil {
		t.Fatal(err)
	}
	p := parse(t, buf.Bytes())
	checkSamples(t, b, p, nil, nil)

	wantTypes := map[string]model.MetricType{
		"go_goroutines": model.MetricTypeGauge, "http_requests_total": model.MetricTypeCounter,
		"my.metric": model.MetricTypeGauge, "req_seconds": model.MetricTypeHistogram,
		"rpc_seconds": model.MetricTypeSummary,
	}
	for fam, typ := range wantTypes {
		if p.types[fam] != typ {
			t.Errorf("TYPE of %s = %q, want %q", fam, p.types[fam], typ)
		}
	}
	if h := p.help["http_requests_total"]; h != b.Metadata["http_requests"].Help {
		t.Errorf("HELP round trip = %q", h)
	}
}

func TestOmit(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"nothing", Options{}},
		{"job label", Options{OmitLabels: []string{"job"}}},
		{"default timestamp", Options{OmitDefaultTimestamp: true, DefaultTimestamp: 1000}},
		{"both", Options{OmitLabels: []string{"job", "code"}, OmitDefaultTimestamp: true, DefaultTimestamp: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sampleBatch()
			var buf bytes.Buffer
			if err := Write(&buf, b, tc.opts); err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.opts.OmitLabels {
				if strings.Contains(buf.String(), l+"=") {
					t.Fatalf("label %s not omitted:\n%s", l, buf.String())
				}
			}
			p := parse(t, buf.Bytes())
			var dts *int64
			if tc.opts.OmitDefaultTimestamp {
				dts = &tc.opts.DefaultTimestamp
			}
			checkSamples(t, b, p, tc.opts.OmitLabels, dts)
		})
	}
}

func TestFamiliesContiguous(t *testing.T) {
	b := sampleBatch()
	var buf bytes.Buffer
	if err := Write(&buf, b, Options{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	prev := ""
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		name := strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]
		if strings.HasPrefix(line, "#") {
			name = strings.Fields(line)[2]
		}
		fam, _, _ := Family(strings.Trim(name, `"`), b.Metadata)
		if fam != prev && seen[fam] {
			t.Fatalf("family %s written in two places:\n%s", fam, buf.String())
		}
		if fam < prev {
			t.Fatalf("family %s after %s: not sorted", fam, prev)
		}
		seen[fam], prev = true, fam
	}
}

// checkSamples compares what was parsed back with the batch, sample for
// sample in output order: labels (less omitted ones), value and timestamp
// (absent exactly when equal to *dts).
func checkSamples(t *testing.T, b *relay.Batch, p parsed, omit []string, dts *int64) {
	t.Helper()
	want := map[string][]relay.Sample{}
	n := 0
	for _, s := range b.Series {
		lb := labels.NewBuilder(s.Labels)
		lb.Del(omit...)
		k := lb.Labels().String()
		want[k] = append(want[k], s.Samples...)
		n += len(s.Samples)
	}
	if len(p.samples) != n {
		t.Fatalf("parsed %d samples, want %d", len(p.samples), n)
	}
	for _, got := range p.samples {
		k := got.lset.String()
		ws := want[k]
		if len(ws) == 0 {
			t.Fatalf("parsed unexpected series %s", k)
		}
		w := ws[0]
		want[k] = ws[1:]
		if !sameFloat(got.value, w.V) {
			t.Errorf("%s: value %v, want %v", k, got.value, w.V)
		}
		switch {
		case dts != nil && w.T == *dts && got.hasT:
			t.Errorf("%s: default timestamp %d written", k, w.T)
		case (dts == nil || w.T != *dts) && (!got.hasT || got.t != w.T):
			t.Errorf("%s: timestamp %d (present %v), want %d", k, got.t, got.hasT, w.T)
		}
	}
}
