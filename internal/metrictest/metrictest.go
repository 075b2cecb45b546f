// Package metrictest reads edgerelay's metrics in tests the way /metrics
// shows them: through a prometheus.Gatherer, so a test also proves the
// metric is registered under the name it checks. It is used only by tests;
// its functions are safe for concurrent use.
package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Value returns the value of the first counter, gauge or untyped series
// named name whose labels include every given name/value pair (labels
// holds pairs: "code", "204", ...). It fails t when g has no such series.
func Value(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, ok := Find(t, g, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v gathered", name, labels)
	}
	return v
}

// Find is Value for a series that may not exist yet (a labelled counter
// nobody has incremented): it reports false instead of failing.
func Find(t testing.TB, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatalf("BUG: metrictest: odd number of label arguments %q", labels)
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if has(m, labels) {
				return value(m), true
			}
		}
	}
	return 0, false
}

// has reports whether m carries every name/value pair of labels.
func has(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] {
				found = lp.GetValue() == labels[i+1]
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}
