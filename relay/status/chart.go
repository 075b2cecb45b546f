package status

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"strings"
	"sync"
	"time"
)

// History keeps the last n samples of a few figures, taken every interval,
// for the status page's charts. Safe for concurrent use.
type History struct {
	every  time.Duration
	series []string // what each value is, with its unit
	mu     sync.Mutex
	points []point // oldest first, at most n
	n      int
}

type point struct {
	t time.Time
	v []float64
}

// NewHistory keeps span's worth of samples taken every interval, of the
// figures series names (one chart each).
func NewHistory(span, every time.Duration, series ...string) *History {
	return &History{every: every, series: series, n: int(span / every)}
}

// Run samples every interval until ctx is done; sample returns one value
// per series.
func (h *History) Run(ctx context.Context, sample func() []float64) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		h.Add(time.Now(), sample())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Add records values at t.
func (h *History) Add(t time.Time, values []float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.points) == h.n {
		copy(h.points, h.points[1:])
		h.points = h.points[:h.n-1]
	}
	h.points = append(h.points, point{t, values})
}

// SVG draws one small line chart per series over the kept span, newest on
// the right, scaled to each series' largest value.
func (h *History) SVG() template.HTML {
	h.mu.Lock()
	pts := append([]point(nil), h.points...)
	h.mu.Unlock()
	const w, ch, pad = 600, 90, 18
	span := h.every * time.Duration(h.n)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" role="img" aria-label="last hour">`, w, len(h.series)*(ch+pad), w)
	end := time.Now()
	for i, name := range h.series {
		top := i*(ch+pad) + pad
		max := 0.0
		for _, p := range pts {
			if i < len(p.v) && p.v[i] > max {
				max = p.v[i]
			}
		}
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12" fill="#444">%s — last %s, max %s</text>`, top-5, html.EscapeString(name), Age(span), Num(roundTo3(max)))
		fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#ddd"/>`, top, w, ch)
		var line []string
		for _, p := range pts {
			if i >= len(p.v) {
				continue
			}
			x := float64(w) * (1 - float64(end.Sub(p.t))/float64(span))
			y := float64(top + ch - 2)
			if max > 0 {
				y -= float64(ch-4) * p.v[i] / max
			}
			line = append(line, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		if len(line) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f5fbf" stroke-width="1.5" points="%s"/>`, strings.Join(line, " "))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built here from numbers and escaped names
}

// roundTo3 keeps three significant digits.
func roundTo3(v float64) float64 {
	var f float64
	fmt.Sscanf(fmt.Sprintf("%.3g", v), "%g", &f)
	return f
}
