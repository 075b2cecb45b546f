package status

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestFiguresNameSeriesAsMetricsDoes checks that a figure's key is the
// series as /metrics writes it, labels sorted, quotes escaped.
func TestFiguresNameSeriesAsMetricsDoes(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "h"}, []string{"stage", "kind"})
	c.WithLabelValues(`a"b`, "trap").Add(3)
	c.WithLabelValues("c", "oom").Add(4)
	reg.MustRegister(c)
	f := Gather(reg)
	key := Key("x_total", "stage", `a"b`, "kind", "trap")
	if f[key] != 3 {
		t.Fatalf("figures %v have no %s = 3", f, key)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP x_total h\n# TYPE x_total counter\n"+key+" 3\nx_total{kind=\"oom\",stage=\"c\"} 4\n"), "x_total"); err != nil {
		t.Fatalf("the key is not the exposition's series: %v", err)
	}
	if got := f.SumWith("x_total", "stage", "c"); got != 4 {
		t.Errorf("SumWith stage=c = %v, want 4", got)
	}
	if got := f.Sum("x_total"); got != 7 {
		t.Errorf("Sum = %v, want 7", got)
	}
	if r := f.Cell("absent"); r.Value != "—" || r.Metric != "" {
		t.Errorf("an absent series shows %+v", r)
	}
}

func TestHistoryKeepsItsSpan(t *testing.T) {
	h := NewHistory(time.Minute, 10*time.Second, "a")
	now := time.Now()
	for i := range 20 {
		h.Add(now.Add(time.Duration(i-20)*10*time.Second), []float64{float64(i)})
	}
	if len(h.points) != 6 || h.points[0].v[0] != 14 {
		t.Fatalf("kept %d points from %v, want the last 6 from 14", len(h.points), h.points[0].v)
	}
	if svg := string(h.SVG()); strings.Count(svg, "<polyline") != 1 || !strings.Contains(svg, "max 19") {
		t.Errorf("chart: %s", svg)
	}
}

func TestPageEscapes(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(func() Page {
		return Page{Role: "edge", Sections: []Section{{Title: "T", Rows: []Row{{Name: "<b>", Value: "<script>", Metric: `m{a="b"}`}}}}}
	}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if strings.Contains(body, "<script>") || !strings.Contains(body, `data-metric="m{a=&#34;b&#34;}"`) {
		t.Errorf("page:\n%s", body)
	}
}
