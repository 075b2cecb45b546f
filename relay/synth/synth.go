// Package synth is a synthetic scrape target for the demo, tests and
// benchmarks: counters, gauges and a histogram whose values are a pure
// function of the scrape number, so a test that knows which scrape a file
// holds can recompute every value it must contain. Safe for concurrent use.
package synth

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
)

// Target serves Prometheus text exposition of Series series per family.
type Target struct {
	// Series is the number of series in each of the counter and gauge families; default 50.
	Series int
	n      atomic.Int64
}

// Scrapes is how many times the target was scraped.
func (t *Target) Scrapes() int64 { return t.n.Load() }

// Counter is the value of synth_requests_total{id=i} in scrape n.
func Counter(n int64, i int) float64 { return float64(n*int64(i+1)) + 0.5 }

// Gauge is the value of synth_temperature_celsius{sensor=i} in scrape n.
func Gauge(n int64, i int) float64 { return 20 + 5*math.Sin(float64(n)/7+float64(i)) }

var buckets = []float64{0.005, 0.05, 0.5, 5}

// ServeHTTP writes one scrape.
func (t *Target) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := t.n.Add(1)
	series := t.Series
	if series <= 0 {
		series = 50
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

	fmt.Fprintf(bw, "# HELP synth_scrape_number Which scrape of this target this is, counting from 1.\n# TYPE synth_scrape_number gauge\nsynth_scrape_number %d\n", n)
	fmt.Fprintf(bw, "# HELP synth_requests_total Requests handled, by id.\n# TYPE synth_requests_total counter\n")
	for i := 0; i < series; i++ {
		fmt.Fprintf(bw, "synth_requests_total{id=\"%d\",path=\"/api/v1/item\"} %s\n", i, f(Counter(n, i)))
	}
	fmt.Fprintf(bw, "# HELP synth_temperature_celsius Temperature by sensor.\n# TYPE synth_temperature_celsius gauge\n")
	for i := 0; i < series; i++ {
		fmt.Fprintf(bw, "synth_temperature_celsius{sensor=\"s%d\"} %s\n", i, f(Gauge(n, i)))
	}
	fmt.Fprintf(bw, "# HELP synth_request_duration_seconds Request latency.\n# TYPE synth_request_duration_seconds histogram\n")
	var cum int64
	for j, le := range buckets {
		cum += n * int64(j+1)
		fmt.Fprintf(bw, "synth_request_duration_seconds_bucket{le=\"%s\"} %d\n", f(le), cum)
	}
	cum += n
	fmt.Fprintf(bw, "synth_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(bw, "synth_request_duration_seconds_sum %s\n", f(float64(n)*1.25))
	fmt.Fprintf(bw, "synth_request_duration_seconds_count %d\n", cum)
}
