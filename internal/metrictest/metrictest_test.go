package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestValueAndFind(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_requests_total"}, []string{"code", "source"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_bytes"})
	reg.MustRegister(c, g)
	c.WithLabelValues("204", "scrape").Add(3)
	c.WithLabelValues("400", "scrape").Add(5)
	g.Set(7)

	for _, tc := range []struct {
		name   string
		metric string
		labels []string
		want   float64
		ok     bool
	}{
		{"gauge", "x_bytes", nil, 7, true},
		{"one label", "x_requests_total", []string{"code", "400"}, 5, true},
		{"two labels", "x_requests_total", []string{"code", "204", "source", "scrape"}, 3, true},
		{"label value absent", "x_requests_total", []string{"code", "500"}, 0, false},
		{"label name absent", "x_requests_total", []string{"tenant", "acme"}, 0, false},
		{"metric absent", "x_other", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Find(t, reg, tc.metric, tc.labels...)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Find = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
			if ok {
				if v := Value(t, reg, tc.metric, tc.labels...); v != tc.want {
					t.Fatalf("Value = %v, want %v", v, tc.want)
				}
			}
		})
	}
}
