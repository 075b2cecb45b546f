package promtest

import (
	"encoding/json"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
)

// TestDiffHistogram checks the comparison against the JSON Prometheus'
// query API gives for a histogram: equal when it is, and a difference
// named for a changed count, sum or bucket.
func TestDiffHistogram(t *testing.T) {
	want := &histogram.FloatHistogram{
		Schema: 0, Count: 3, Sum: 4.5, ZeroThreshold: 0.001,
		PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []float64{1, 2},
	}
	// Buckets (1,2] and (2,4] as Prometheus prints them: [boundary rule, lower, upper, count].
	raw := json.RawMessage(`{"count":"3","sum":"4.5","buckets":[[0,"1","2","1"],[0,"2","4","2"]]}`)
	if d := DiffHistogram(raw, want); d != "" {
		t.Fatalf("equal histograms differ: %s", d)
	}
	for _, bad := range []string{
		`{"count":"4","sum":"4.5","buckets":[[0,"1","2","1"],[0,"2","4","2"]]}`,
		`{"count":"3","sum":"4.25","buckets":[[0,"1","2","1"],[0,"2","4","2"]]}`,
		`{"count":"3","sum":"4.5","buckets":[[0,"1","2","1"],[0,"2","4","3"]]}`,
		`{"count":"3","sum":"4.5","buckets":[[0,"1","2","1"]]}`,
		`{"count":"3","sum":"4.5","buckets":[[0,"1","2.5","1"],[0,"2","4","2"]]}`,
	} {
		if d := DiffHistogram(json.RawMessage(bad), want); d == "" {
			t.Errorf("%s: no difference found", bad)
		}
	}
}
