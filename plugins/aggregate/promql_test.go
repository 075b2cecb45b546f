package aggregate

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
)

// relTolerance is how far apart builtin:aggregate and Prometheus may be,
// relative to the value. Both do the same float64 operations per series,
// but add series and samples in their own orders, so results may differ
// by a few units in the last place (~1e-16 relative); 1e-12 leaves room
// for that and for nothing else: a wrong window, a missed reset or a
// different extrapolation is off by far more.
const relTolerance = 1e-12

// TestSumAndRateMatchPrometheus: for the same input (two jobs of three
// counters each, one of them reset, scraped every 15 s at 7 s past the
// quarter minute, and a gauge), the stage's 1m sum and rate by job equal
// what Prometheus 2.42 computes at each window's end with
// sum by (job) (sum_over_time(temp[1m])) and sum by (job) (rate(req_total[1m])).
// Samples never fall on a window's edge, where Prometheus 2.42's ranges,
// closed at both ends, and the stage's windows, open at the start, differ.
func TestSumAndRateMatchPrometheus(t *testing.T) {
	promtest.Require(t, "compares the stage's sum and rate with PromQL's")
	srv := promtest.Start(t, "global: {scrape_interval: 1h}\n", "--web.enable-remote-write-receiver")
	base := time.Now().Add(-40 * time.Minute).Truncate(time.Minute).UnixMilli()
	var series []prompb.TimeSeries
	f := newFeeder(t, `{"interval": "1m", "by": ["job"], "delay": "0s", "outputs": ["sum", "rate"]}`)
	var batch []in
	const steps = 80 // 20 minutes at 15 s
	for i := range steps {
		ts := base + 7000 + int64(i)*15000
		for j := range 6 {
			job, inst := fmt.Sprintf("job%d", j%2), fmt.Sprintf("i%d", j)
			ctr := float64(1000*(j+1)) + float64(i*i%97)*1.5 + float64(i)*float64(j+1)*0.37
			if j == 4 && i >= 40 { // a counter reset
				ctr = float64(i-40) * 2.25
			}
			gauge := math.Sin(float64(i+j)) * 100
			batch = append(batch, in{labels.FromStrings("__name__", "req_total", "job", job, "instance", inst), ts, ctr},
				in{labels.FromStrings("__name__", "temp", "job", job, "instance", inst), ts, gauge})
		}
	}
	got := map[string]float64{} // "name job end" -> value
	for _, s := range batch {
		for _, line := range f.feed(s) {
			var name, job string
			var end int64
			var v float64
			if _, err := fmt.Sscanf(line, `{__name__=%q, job=%q} %d %g`, &name, &job, &end, &v); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			got[fmt.Sprintf("%s %s %d", name, job, end)] = v
		}
		series = append(series, prompb.TimeSeries{Labels: promtest.Labels(s.ls), Samples: []prompb.Sample{{Timestamp: s.t, Value: s.v}}})
	}
	srv.RemoteWrite(t, series)
	checked, maxRel := 0, 0.0
	for end := base + 60000; end < base+int64(steps-4)*15000; end += 60000 {
		for _, q := range []struct{ out, expr string }{
			{"req_total:1m_by_job_rate", "sum by (job) (rate(req_total[1m]))"},
			{"temp:1m_by_job_sum", "sum by (job) (sum_over_time(temp[1m]))"},
		} {
			for _, smp := range srv.VectorAt(t, q.expr, end) {
				job, w := smp.Metric.Get("job"), smp.Value
				g, ok := got[fmt.Sprintf("%s %s %d", q.out, job, end)]
				if !ok || math.Abs(g-w) > relTolerance*math.Abs(w) {
					t.Errorf("%s at %d for job %s: stage %v (emitted %v), Prometheus %v", q.out, end, job, g, ok, w)
				}
				if w != 0 {
					maxRel = max(maxRel, math.Abs(g-w)/math.Abs(w))
				}
				checked++
			}
		}
	}
	t.Logf("compared %d values; largest relative difference %g", checked, maxRel)
	if checked < 60 {
		t.Fatalf("compared %d values; want at least 60", checked)
	}
}
