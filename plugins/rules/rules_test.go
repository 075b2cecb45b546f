package rules

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// testRules is the rule file of the tests: it also passes promtool check
// rules (TestPromtoolAccepts).
const testRules = `groups:
  - name: edge
    interval: 30s
    rules:
      - record: job:req_total:rate1m
        expr: sum by (job) (rate(req_total[1m]))
      - record: job:temp:avg
        expr: avg by (job) (temp)
        labels:
          tier: edge
      - record: instance:req_total:increase2m
        expr: increase(req_total[2m])
      - record: job:temp:max5m
        expr: max by (job) (max_over_time(temp[5m]))
      - record: job:req_total:rate1m:x2
        expr: job:req_total:rate1m * 2
`

// emitted is one sample the stage emitted.
type emitted struct {
	ls labels.Labels
	t  int64
	v  float64
}

// feeder runs batches through a Stage as the host does.
type feeder struct {
	t    *testing.T
	st   native.Stage
	refs map[string]uint32
	decl map[uint32]labels.Labels
	out  []emitted
}

func newFeeder(t *testing.T, cfg string) *feeder {
	t.Helper()
	st, err := New([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{t: t, st: st, refs: map[string]uint32{}, decl: map[uint32]labels.Labels{}}
}

func config(rules string, extra string) string {
	return fmt.Sprintf(`{"rules": %q%s}`, rules, extra)
}

func (f *feeder) feed(ls labels.Labels, t int64, v float64) {
	f.t.Helper()
	req := &native.Request{Samples: &abi.Samples{}}
	ref, ok := f.refs[ls.String()]
	if !ok {
		ref = uint32(len(f.refs) + 1)
		f.refs[ls.String()] = ref
		req.NewRefs, req.NewLabels = []uint32{ref}, []labels.Labels{ls}
	}
	req.Samples.Append(ref, t, v)
	var resp native.Response
	if err := f.st.Stream(req, &resp); err != nil {
		f.t.Fatal(err)
	}
	if req.Samples.Len() != 1 {
		f.t.Fatalf("the input sample was not passed on")
	}
	for _, w := range resp.Warnings {
		f.t.Errorf("warning: %v", w)
	}
	for _, d := range resp.Declare {
		f.decl[d.ID] = d.Labels
	}
	for i, id := range resp.Samples.Refs {
		f.out = append(f.out, emitted{f.decl[id], resp.Samples.T[i], resp.Samples.V[i]})
	}
	for _, id := range resp.Retire {
		delete(f.decl, id)
	}
}

// find returns the value emitted for series ls at t.
func (f *feeder) find(ls string, t int64) (float64, bool) {
	for _, e := range f.out {
		if e.ls.String() == ls && e.t == t {
			return e.v, true
		}
	}
	return 0, false
}

func TestRecordingRules(t *testing.T) {
	f := newFeeder(t, config(testRules, `, "delay": "0s"`))
	ls := labels.FromStrings
	for i := range 20 { // every 15 s from 7 s on: two counters of job a, a gauge
		ts := int64(7000 + 15000*i)
		f.feed(ls("__name__", "req_total", "job", "a", "instance", "x"), ts, float64(10*i))
		f.feed(ls("__name__", "req_total", "job", "a", "instance", "y"), ts, float64(5*i))
		if i < 10 {
			f.feed(ls("__name__", "temp", "job", "a", "instance", "x"), ts, float64(i))
		}
	}
	// At 120 s: rate over (60 s, 120 s]: samples at 67, 82, 97, 112 s, a
	// perfectly linear counter: 10/15 + 5/15 per second.
	if v, ok := f.find(`{__name__="job:req_total:rate1m", job="a"}`, 120000); !ok || math.Abs(v-1) > 1e-12 {
		t.Errorf("rate at 120s = %v, %v; want 1", v, ok)
	}
	if v, ok := f.find(`{__name__="job:req_total:rate1m:x2", job="a"}`, 120000); !ok || math.Abs(v-2) > 1e-12 {
		t.Errorf("the chained rule at 120s = %v, %v; want 2 (it reads the first rule's result of the same evaluation)", v, ok)
	}
	if v, ok := f.find(`{__name__="job:temp:avg", job="a", tier="edge"}`, 120000); !ok || v != 7 {
		t.Errorf("avg at 120s = %v, %v; want 7 (the last sample, at 112s)", v, ok)
	}
	// temp's last sample is at 142 s; 5 minutes later the instant selector
	// finds nothing and the recorded series goes stale.
	var staleAt int64
	for _, e := range f.out {
		if e.ls.Get("__name__") == "job:temp:avg" && value.IsStaleNaN(e.v) {
			staleAt = e.t
		}
	}
	if staleAt != 0 {
		t.Errorf("job:temp:avg went stale at %d, while temp was still within the lookback", staleAt)
	}
	for i := 20; i < 50; i++ {
		ts := int64(7000 + 15000*i)
		f.feed(ls("__name__", "req_total", "job", "a", "instance", "x"), ts, float64(10*i))
	}
	for _, e := range f.out {
		if e.ls.Get("__name__") == "job:temp:avg" && value.IsStaleNaN(e.v) {
			staleAt = e.t
		}
	}
	if staleAt != 450000 { // 142 s + 5 m = 442 s: the evaluation at 450 s finds nothing
		t.Errorf("job:temp:avg went stale at %d; want 450000", staleAt)
	}
	for _, l := range f.decl {
		if l.Get("__name__") == "job:temp:avg" {
			t.Errorf("job:temp:avg still declared after going stale")
		}
	}
}

func TestWindowOf(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"up":                                 5 * time.Minute,
		"rate(x[2m])":                        2 * time.Minute,
		"rate(x[2m] offset 1h)":              time.Hour + 2*time.Minute,
		"max_over_time(rate(x[1m])[10m:1m])": 11 * time.Minute,
		"sum(rate(x[1m])) / sum(y)":          5 * time.Minute,
		"vector(1)":                          0,
	} {
		e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := windowOf(e, 5*time.Minute); got != want {
			t.Errorf("%s: window %s; want %s", expr, got, want)
		}
	}
}

func TestRulesRefused(t *testing.T) {
	for name, c := range map[string]struct{ cfg, want string }{
		"no file":       {`{}`, "rules_file"},
		"unknown field": {config(testRules, `, "lookback": "1m"`), "lookback"},
		"alert":         {config("groups: [{name: g, rules: [{alert: A, expr: up == 0}]}]", ""), "recording rules only"},
		"bad expr":      {config("groups: [{name: g, rules: [{record: r, expr: 'sum('}]}]", ""), "unclosed left parenthesis"},
		"bad yaml key":  {config("groups: [{name: g, rulez: []}]", ""), "rulez"},
		"bad delay":     {config(testRules, `, "delay": "soon"`), "delay"},
	} {
		if _, err := New([]byte(c.cfg)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v; want it to name %q", name, err, c.want)
		}
	}
}

// TestPromtoolAccepts: the rule file the tests evaluate passes Prometheus
// 2.42's own check.
func TestPromtoolAccepts(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	p := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(p, []byte(testRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", p).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
