package promtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

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

// TestStartAtQuery runs Prometheus scraping itself at the address it was
// started at and asks its query API, through Query, what a user would:
// the self-scrape's up plus one (a '+' that must reach Prometheus as a
// plus) is 2, a job that does not exist has no series, and a query that
// does not parse gets no answer.
func TestStartAtQuery(t *testing.T) {
	Require(t, "this test runs it")
	addr := FreeAddr(t)
	s := StartAt(t, addr, fmt.Sprintf("global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: self\n    static_configs: [{targets: [%q]}]\n", addr))
	var res []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	for deadline := time.Now().Add(30 * time.Second); !s.Query(`up{job="self"} + 1`, &res) || len(res) != 1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no answer to up{job=\"self\"} + 1 within 30s: %v", res)
		}
	}
	if res[0].Value[1] != "2" || res[0].Metric["job"] != "self" {
		t.Errorf("up{job=\"self\"} + 1 is %v, want 2 for job self", res[0])
	}
	var none []json.RawMessage
	if !s.Query(`up{job="nope"}`, &none) || len(none) != 0 {
		t.Errorf("up of a job that does not exist: %v", none)
	}
	if s.Query(`up{`, &none) {
		t.Error("a query that does not parse was answered")
	}
}
