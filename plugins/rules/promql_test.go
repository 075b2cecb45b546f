package rules

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
)

// relTolerance: builtin:rules runs Prometheus 3's PromQL engine (module
// v0.316.0) and the reference is Prometheus 2.42. For the same samples at
// the same evaluation time both compute the same functions, but 3.x sums
// with Kahan compensation where 2.42 adds plainly, so sums and averages may
// differ in the last bits (~1e-15 relative over these inputs); 1e-9 covers
// that and nothing else: a sample in or out of a range changes a value by
// far more.
const relTolerance = 1e-9

// TestRulesMatchPrometheus: the same input (two jobs of three counters
// each, one reset, and gauges that stop half-way; samples 15 s apart at
// 7 s past the quarter minute, so none lies on a range's edge, where 2.42's
// closed ranges and 3.x's left-open ones differ) goes through the stage
// and, by remote_write, into Prometheus 2.42. At every evaluation time of
// the stage, each rule's expression evaluated by Prometheus, named and
// labelled as the rule says, gives the series and values the stage
// emitted. The chained rule reads the first rule's results: those the
// stage recorded, written into Prometheus too.
func TestRulesMatchPrometheus(t *testing.T) {
	promtest.Require(t, "compares builtin:rules with Prometheus evaluating the same rules")
	srv := promtest.Start(t, "global: {scrape_interval: 1h}\n", "--web.enable-remote-write-receiver")
	base := time.Now().Add(-50 * time.Minute).Truncate(time.Minute).UnixMilli()
	f := newFeeder(t, config(testRules, `, "delay": "0s"`))
	var input []prompb.TimeSeries
	const steps = 120 // 30 minutes
	for i := range steps {
		ts := base + 7000 + int64(i)*15000
		for j := range 6 {
			job, inst := fmt.Sprintf("job%d", j%2), fmt.Sprintf("i%d", j)
			ctr := float64(1000*(j+1)) + float64(i*i%97)*1.5 + float64(i)*float64(j+1)*0.37
			if j == 4 && i >= 40 {
				ctr = float64(i-40) * 2.25
			}
			ls := labels.FromStrings("__name__", "req_total", "job", job, "instance", inst)
			f.feed(ls, ts, ctr)
			input = append(input, prompb.TimeSeries{Labels: promtest.Labels(ls), Samples: []prompb.Sample{{Timestamp: ts, Value: ctr}}})
			if i < 60 || j < 3 {
				g := labels.FromStrings("__name__", "temp", "job", job, "instance", inst)
				v := math.Sin(float64(i+j)) * 100
				f.feed(g, ts, v)
				input = append(input, prompb.TimeSeries{Labels: promtest.Labels(g), Samples: []prompb.Sample{{Timestamp: ts, Value: v}}})
			}
		}
	}
	var recorded []prompb.TimeSeries
	for _, e := range f.out {
		if e.ls.Get("__name__") == "job:req_total:rate1m" {
			recorded = append(recorded, prompb.TimeSeries{Labels: promtest.Labels(e.ls), Samples: []prompb.Sample{{Timestamp: e.t, Value: e.v}}})
		}
	}
	srv.RemoteWrite(t, input)
	srv.RemoteWrite(t, recorded)

	rules := []struct{ record, expr, labels string }{
		{"job:req_total:rate1m", "sum by (job) (rate(req_total[1m]))", ""},
		{"job:temp:avg", "avg by (job) (temp)", `, tier="edge"`},
		{"instance:req_total:increase2m", "increase(req_total[2m])", ""},
		{"job:temp:max5m", "max by (job) (max_over_time(temp[5m]))", ""},
		{"job:req_total:rate1m:x2", "job:req_total:rate1m * 2", ""},
	}
	got := map[string]float64{} // "labels@t"
	times := map[int64]bool{}
	for _, e := range f.out {
		if value.IsStaleNaN(e.v) {
			continue
		}
		got[fmt.Sprintf("%s@%d", e.ls, e.t)] = e.v
		times[e.t] = true
	}
	compared, maxRel := 0, 0.0
	for ts := range times {
		for _, r := range rules {
			for _, s := range srv.VectorAt(t, r.expr, ts) {
				b := labels.NewBuilder(s.Metric).Set("__name__", r.record)
				if r.labels != "" {
					b.Set("tier", "edge")
				}
				key := fmt.Sprintf("%s@%d", b.Labels(), ts)
				want := s.Value
				g, ok := got[key]
				if !ok || math.Abs(g-want) > relTolerance*math.Abs(want) {
					t.Errorf("%s: stage %v (emitted %v), Prometheus %v", key, g, ok, want)
				}
				if want != 0 {
					maxRel = max(maxRel, math.Abs(g-want)/math.Abs(want))
				}
				delete(got, key)
				compared++
			}
		}
	}
	for key, v := range got {
		t.Errorf("the stage emitted %s = %v, Prometheus nothing", key, v)
	}
	t.Logf("compared %d values at %d evaluation times; largest relative difference %g", compared, len(times), maxRel)
	if compared < 500 {
		t.Fatalf("compared %d values; want at least 500", compared)
	}
}
