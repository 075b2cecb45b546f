// Package aggregate is edgerelay's builtin:aggregate stage: stream
// aggregation of the series an edge takes in, over a fixed interval and
// by or without labels, so that only aggregates need cross the wire. It is
// a built-in stage written in Go (package native's contract), run by the
// plugin host inside the edge; its outputs are new series the host ships
// as any stream stage's.
//
// Windows are cut on sample timestamps: (k·interval, (k+1)·interval] in
// milliseconds since the epoch, left-open and right-closed as a PromQL
// range ending at the window's end. A window is aggregated and emitted,
// stamped with its end, once a sample more than delay past its end has
// arrived; a sample for a window already emitted is dropped and counted
// (reason "late").
//
// A Stage is used by one goroutine at a time.
package aggregate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Config is the stage's configuration (edge.plugins[].config).
type Config struct {
	// Match selects the series aggregated (PromQL series selectors; any
	// one matching is enough); empty means every series. Others pass.
	Match []string `json:"match"`
	// Interval is the window length, e.g. "1m"; required.
	Interval string `json:"interval"`
	// By keeps only these labels (and the metric name); Without removes
	// these. At most one of the two; neither aggregates per metric name.
	By      []string `json:"by"`
	Without []string `json:"without"`
	// Outputs name what is computed per window: sum, count, min, max, avg,
	// last, increase, rate, quantiles(φ, ...), histogram_bucket.
	Outputs []string `json:"outputs"`
	// Buckets are histogram_bucket's upper bounds; default Prometheus'
	// default buckets (.005 ... 10).
	Buckets []float64 `json:"buckets"`
	// KeepInput ships the aggregated input series too; default true.
	KeepInput *bool `json:"keep_input"`
	// Delay is how long past a window's end (in sample time) its samples
	// may still arrive; default 10s.
	Delay string `json:"delay"`
}

// output is one parsed entry of Config.Outputs.
type output struct {
	name string    // as in the series name: "sum", "quantiles", ...
	phis []float64 // quantiles
}

// settings is a checked Config.
type settings struct {
	match    [][]*labels.Matcher
	interval int64 // ms
	delay    int64 // ms
	by       []string
	without  []string
	outputs  []output
	buckets  []float64
	keep     bool
	suffix   string // ":<interval>[_by_...|_without_...]_"
}

var defaultBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func parseConfig(raw []byte) (*settings, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	s := &settings{keep: c.KeepInput == nil || *c.KeepInput, buckets: c.Buckets}
	iv, err := model.ParseDuration(c.Interval)
	if err != nil || iv <= 0 {
		return nil, fmt.Errorf("interval must be a duration such as 1m; got %q", c.Interval)
	}
	s.interval = time.Duration(iv).Milliseconds()
	s.delay = 10000
	if c.Delay != "" {
		d, err := model.ParseDuration(c.Delay)
		if err != nil {
			return nil, fmt.Errorf("delay must be a duration; got %q", c.Delay)
		}
		s.delay = time.Duration(d).Milliseconds()
	}
	for _, m := range c.Match {
		ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(m)
		if err != nil {
			return nil, fmt.Errorf("match %q: %w", m, err)
		}
		s.match = append(s.match, ms)
	}
	if len(c.By) > 0 && len(c.Without) > 0 {
		return nil, errors.New("set by or without, not both")
	}
	s.by, s.without = cleanLabels(c.By), cleanLabels(c.Without)
	s.suffix = ":" + c.Interval
	if len(s.by) > 0 {
		s.suffix += "_by_" + strings.Join(s.by, "_")
	}
	if len(s.without) > 0 {
		s.suffix += "_without_" + strings.Join(s.without, "_")
	}
	s.suffix += "_"
	if len(c.Outputs) == 0 {
		return nil, errors.New("outputs must name at least one of sum, count, min, max, avg, last, increase, rate, quantiles(...), histogram_bucket")
	}
	for _, o := range c.Outputs {
		out, err := parseOutput(o)
		if err != nil {
			return nil, err
		}
		s.outputs = append(s.outputs, out)
	}
	if s.buckets == nil {
		s.buckets = defaultBuckets
	}
	if !slices.IsSorted(s.buckets) {
		return nil, errors.New("buckets must be in increasing order")
	}
	return s, nil
}

// cleanLabels sorts and dedupes label names and leaves out __name__: the
// metric name is always kept (it names the output).
func cleanLabels(ls []string) []string {
	out := slices.DeleteFunc(slices.Clone(ls), func(l string) bool { return l == labels.MetricName })
	slices.Sort(out)
	return slices.Compact(out)
}

func parseOutput(o string) (output, error) {
	switch o {
	case "sum", "count", "min", "max", "avg", "last", "increase", "rate", "histogram_bucket":
		return output{name: o}, nil
	}
	args, ok := strings.CutPrefix(o, "quantiles(")
	if args, ok2 := strings.CutSuffix(args, ")"); ok && ok2 {
		out := output{name: "quantiles"}
		for _, a := range strings.Split(args, ",") {
			phi, err := strconv.ParseFloat(strings.TrimSpace(a), 64)
			if err != nil || phi < 0 || phi > 1 || math.IsNaN(phi) {
				return output{}, fmt.Errorf("output %q: each φ must be a number in [0, 1]", o)
			}
			out.phis = append(out.phis, phi)
		}
		return out, nil
	}
	return output{}, fmt.Errorf("unknown output %q (have sum, count, min, max, avg, last, increase, rate, quantiles(φ, ...), histogram_bucket)", o)
}
