package aggregate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// feeder runs batches through a Stage as the host does: refs told once,
// declarations remembered, emitted samples printed as "name{labels} t v".
type feeder struct {
	t     *testing.T
	st    native.Stage
	refs  map[string]uint32
	decl  map[uint32]labels.Labels
	told  map[uint32]bool
	kept  []string
	drops map[string]int
}

func newFeeder(t *testing.T, cfg string) *feeder {
	t.Helper()
	st, err := New([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t: t, st: st, refs: map[string]uint32{}, decl: map[uint32]labels.Labels{}, told: map[uint32]bool{}, drops: map[string]int{}}
}

type in struct {
	ls labels.Labels
	t  int64
	v  float64
}

// feed sends one batch and returns what came out of it, sorted.
func (f *feeder) feed(batch ...in) []string {
	f.t.Helper()
	req := &native.Request{Samples: &abi.Samples{}}
	byRef := map[uint32]labels.Labels{}
	for _, s := range batch {
		key := s.ls.String()
		ref, ok := f.refs[key]
		if !ok {
			ref = uint32(len(f.refs) + 1)
			f.refs[key] = ref
		}
		byRef[ref] = s.ls
		if !f.told[ref] {
			f.told[ref] = true
			req.NewRefs = append(req.NewRefs, ref)
			req.NewLabels = append(req.NewLabels, s.ls)
		}
		req.Samples.Append(ref, s.t, s.v)
	}
	var resp native.Response
	if err := f.st.Stream(req, &resp); err != nil {
		f.t.Fatal(err)
	}
	f.kept = f.kept[:0]
	for i, ref := range req.Samples.Refs {
		f.kept = append(f.kept, fmt.Sprintf("%s %d %g", byRef[ref], req.Samples.T[i], req.Samples.V[i]))
	}
	for _, d := range resp.Declare {
		f.decl[d.ID] = d.Labels
	}
	for _, d := range resp.Dropped {
		f.drops[d.Reason] += d.Samples
	}
	var out []string
	for i, id := range resp.Samples.Refs {
		v := fmt.Sprintf("%g", resp.Samples.V[i])
		if value.IsStaleNaN(resp.Samples.V[i]) {
			v = "stale"
		}
		out = append(out, fmt.Sprintf("%s %d %s", f.decl[id], resp.Samples.T[i], v))
	}
	for _, id := range resp.Retire {
		delete(f.decl, id)
	}
	slices.Sort(out)
	return out
}

func TestOutputsAndNames(t *testing.T) {
	ls := labels.FromStrings
	a := ls("__name__", "req_total", "job", "api", "instance", "a")
	b := ls("__name__", "req_total", "job", "api", "instance", "b")
	f := newFeeder(t, `{"interval": "1m", "by": ["job"], "delay": "0s", "keep_input": false,
		"outputs": ["sum", "count", "min", "max", "avg", "last", "increase", "rate", "quantiles(0.5, 1)", "histogram_bucket"],
		"buckets": [5, 50]}`)
	// Window (0, 60s]: a 10 → 20 → 5 (a reset), b 40 → 46.
	if got := f.feed(in{a, 10_000, 10}, in{b, 10_000, 40}, in{a, 30_000, 20}, in{b, 50_000, 46}, in{a, 50_000, 5}); len(got) != 0 {
		t.Fatalf("emitted before the window closed: %v", got)
	}
	if len(f.kept) != 0 {
		t.Fatalf("keep_input false kept %v", f.kept)
	}
	got := f.feed(in{a, 70_000, 9}) // closes the first window
	n := `{__name__="req_total:1m_by_job_%s", job="api"%s} 60000 %s`
	want := []string{
		fmt.Sprintf(n, "avg", "", "24.2"), fmt.Sprintf(n, "count", "", "5"),
		fmt.Sprintf(n, "histogram_bucket", `, le="+Inf"`, "5"), fmt.Sprintf(n, "histogram_bucket", `, le="5"`, "1"),
		fmt.Sprintf(n, "histogram_bucket", `, le="50"`, "5"),
		fmt.Sprintf(n, "increase", "", "21"), // a: 10 + 5 (20 → 5 is a reset), b: 6
		fmt.Sprintf(n, "last", "", "5"), fmt.Sprintf(n, "max", "", "46"), fmt.Sprintf(n, "min", "", "5"),
		fmt.Sprintf(n, "quantiles", `, quantile="0.5"`, "20"), fmt.Sprintf(n, "quantiles", `, quantile="1"`, "46"),
		fmt.Sprintf(n, "rate", "", "0.525"), // a: 15/40s, b: 6/40s
		fmt.Sprintf(n, "sum", "", "121"),
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Window (60s, 120s]: only a; its increase counts from its last sample (5) on.
	got = f.feed(in{a, 100_000, 12}, in{a, 190_000, 1})
	if !slices.Contains(got, `{__name__="req_total:1m_by_job_increase", job="api"} 120000 7`) {
		t.Errorf("second window: %v", got)
	}
	// A sample for an emitted window is late: dropped and counted.
	f.feed(in{b, 110_000, 50})
	if f.drops["late"] != 1 {
		t.Errorf("late drops = %d; want 1", f.drops["late"])
	}
}

func TestWithoutNamingAndStaleness(t *testing.T) {
	ls := labels.FromStrings
	x := ls("__name__", "temp", "site", "s", "instance", "a", "zone", "z")
	y := ls("__name__", "other", "instance", "a")
	f := newFeeder(t, `{"interval": "30s", "without": ["zone", "instance"], "delay": "5s", "outputs": ["max"], "match": ["{__name__=\"temp\"}"]}`)
	f.feed(in{x, 1_000, 3}, in{y, 1_000, 1})
	if len(f.kept) != 2 {
		t.Errorf("keep_input defaults to true, and unmatched series pass: kept %v", f.kept)
	}
	got := f.feed(in{x, 36_000, 4}) // 36s > 30s + 5s: the first window closes
	if want := []string{`{__name__="temp:30s_without_instance_zone_max", site="s"} 30000 3`}; !slices.Equal(got, want) {
		t.Fatalf("got %v; want %v", got, want)
	}
	// temp vanished: the window ending at 60s has it, the next one, due
	// once a sample past 95s arrives, has none: a staleness marker.
	got = f.feed(in{y, 100_000, 1})
	want := []string{`{__name__="temp:30s_without_instance_zone_max", site="s"} 60000 4`,
		`{__name__="temp:30s_without_instance_zone_max", site="s"} 90000 stale`}
	if !slices.Equal(got, want) || len(f.decl) != 0 {
		t.Fatalf("got %v, still declared %v; want %v and the series retired", got, f.decl, want)
	}
	if got = f.feed(in{y, 200_000, 1}); len(got) != 0 {
		t.Fatalf("after the staleness marker: %v", got)
	}
}

func TestConfigRefused(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"outputs": ["sum"]}`:                                                   "interval",
		`{"interval": "1m"}`:                                                     "outputs",
		`{"interval": "1m", "outputs": ["median"]}`:                              "median",
		`{"interval": "1m", "outputs": ["quantiles(2)"]}`:                        "φ",
		`{"interval": "1m", "outputs": ["sum"], "by": ["a"], "without": ["b"]}`:  "not both",
		`{"interval": "1m", "outputs": ["sum"], "match": ["{"]}`:                 "match",
		`{"interval": "1m", "outputs": ["sum"], "intervall": "1m"}`:              "intervall",
		`{"interval": "1m", "outputs": ["histogram_bucket"], "buckets": [2, 1]}`: "increasing",
	} {
		if _, err := New([]byte(cfg)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v; want it to name %q", cfg, err, want)
		}
	}
}
