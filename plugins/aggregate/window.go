package aggregate

import (
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/native"
)

// window is one interval's state: a group per output label set.
type window struct {
	end    int64
	groups map[string]*group
}

// group accumulates the samples of one window and output label set.
type group struct {
	key           string // labels.String(), the group's key in a window
	labels        labels.Labels
	sum, min, max float64
	count         int
	last          point
	values        []float64             // quantiles only
	buckets       []uint64              // histogram_bucket only
	series        map[uint32]*seriesWin // increase and rate only
}

// seriesWin is one input series within a window, for increase and rate:
// its first and last sample and the counter's resets, as PromQL's
// increase() counts them (a drop means the counter restarted from zero).
type seriesWin struct {
	firstT, lastT int64
	firstV, lastV float64
	resets        float64 // sum of the values before each drop
	n             int
}

func newGroup(key string, ls labels.Labels, s *settings) *group {
	g := &group{key: key, labels: ls, min: math.Inf(1), max: math.Inf(-1), last: point{t: math.MinInt64}}
	for _, o := range s.outputs {
		switch o.name {
		case "histogram_bucket":
			g.buckets = make([]uint64, len(s.buckets))
		case "increase", "rate":
			g.series = make(map[uint32]*seriesWin)
		}
	}
	return g
}

func (g *group) add(ref uint32, t int64, v float64, s *settings) {
	g.sum += v
	g.count++
	g.min, g.max = math.Min(g.min, v), math.Max(g.max, v)
	if t >= g.last.t {
		g.last = point{t, v}
	}
	for _, o := range s.outputs {
		if o.name == "quantiles" {
			g.values = append(g.values, v)
			break
		}
	}
	if g.buckets != nil {
		for i, le := range s.buckets {
			if v <= le {
				g.buckets[i]++
			}
		}
	}
	if g.series != nil {
		sw := g.series[ref]
		switch {
		case sw == nil:
			g.series[ref] = &seriesWin{firstT: t, lastT: t, firstV: v, lastV: v, n: 1}
		case t > sw.lastT:
			if v < sw.lastV {
				sw.resets += sw.lastV
			}
			sw.lastT, sw.lastV = t, v
			sw.n++
		}
	}
}

// emit puts every output of g for the window ending at end.
func (g *group) emit(a *Stage, end int64, resp *native.Response) {
	for _, o := range a.s.outputs {
		switch o.name {
		case "sum":
			a.put(resp, g, o.name, "", "", end, g.sum)
		case "count":
			a.put(resp, g, o.name, "", "", end, float64(g.count))
		case "min":
			a.put(resp, g, o.name, "", "", end, g.min)
		case "max":
			a.put(resp, g, o.name, "", "", end, g.max)
		case "avg":
			a.put(resp, g, o.name, "", "", end, g.sum/float64(g.count))
		case "last":
			a.put(resp, g, o.name, "", "", end, g.last.v)
		case "rate":
			if r, ok := g.rate(end, a.s.interval); ok {
				a.put(resp, g, o.name, "", "", end, r)
			}
		case "increase":
			a.put(resp, g, o.name, "", "", end, g.increase(a.lastOf))
		case "quantiles":
			slices.Sort(g.values)
			for _, phi := range o.phis {
				a.put(resp, g, o.name, "quantile", strconv.FormatFloat(phi, 'g', -1, 64), end, quantile(phi, g.values))
			}
		case "histogram_bucket":
			for i, le := range a.s.buckets {
				a.put(resp, g, o.name, "le", strconv.FormatFloat(le, 'g', -1, 64), end, float64(g.buckets[i]))
			}
			a.put(resp, g, o.name, "le", "+Inf", end, float64(g.count))
		}
	}
}

// rate is the sum over the group's series of PromQL's rate() over the
// window, (end-interval, end]: each series' growth between its first and
// last sample (resets counted), extrapolated towards the window's edges
// as Prometheus does (to an edge closer than 1.1 average sample gaps,
// otherwise by half a gap; never below a counter's zero), per second.
// False when no series has two samples.
func (g *group) rate(end, interval int64) (float64, bool) {
	var sum float64
	ok := false
	for _, sw := range g.series {
		if sw.n < 2 {
			continue
		}
		sum += sw.promRate(end-interval, end)
		ok = true
	}
	return sum, ok
}

func (sw *seriesWin) promRate(start, end int64) float64 {
	growth := sw.lastV - sw.firstV + sw.resets
	toStart := float64(sw.firstT-start) / 1000
	toEnd := float64(end-sw.lastT) / 1000
	sampled := float64(sw.lastT-sw.firstT) / 1000
	avgGap := sampled / float64(sw.n-1)
	if growth > 0 && sw.firstV >= 0 {
		if toZero := sampled * (sw.firstV / growth); toZero < toStart {
			toStart = toZero
		}
	}
	threshold := avgGap * 1.1
	extrapolated := sampled
	if toStart < threshold {
		extrapolated += toStart
	} else {
		extrapolated += avgGap / 2
	}
	if toEnd < threshold {
		extrapolated += toEnd
	} else {
		extrapolated += avgGap / 2
	}
	return growth * (extrapolated / sampled) / (float64(end-start) / 1000)
}

// increase is the sum over the group's series of their growth from their
// last sample in an earlier window (or, for a series new in this one, its
// first sample) to their last sample in this window.
func (g *group) increase(lastOf map[uint32]point) float64 {
	var sum float64
	for ref, sw := range g.series {
		inc := sw.lastV - sw.firstV + sw.resets
		if p, ok := lastOf[ref]; ok && p.t < sw.firstT {
			if sw.firstV < p.v {
				inc += sw.firstV
			} else {
				inc += sw.firstV - p.v
			}
		}
		sum += inc
	}
	return sum
}

// quantile is PromQL's φ-quantile of sorted values (linear interpolation
// between the closest ranks).
func quantile(phi float64, values []float64) float64 {
	n := float64(len(values))
	if n == 0 {
		return math.NaN()
	}
	rank := phi * (n - 1)
	lo := math.Max(0, math.Floor(rank))
	hi := math.Min(n-1, lo+1)
	w := rank - math.Floor(rank)
	return values[int(lo)]*(1-w) + values[int(hi)]*w
}
