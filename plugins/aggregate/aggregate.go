package aggregate

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// Stage aggregates; build it with New.
type Stage struct {
	s       *settings
	refs    map[uint32]*refInfo
	windows map[int64]*window // by end
	flushed int64             // end of the last window emitted; math.MinInt64 before
	maxT    int64
	lastOf  map[uint32]point // per ref: its last sample in an emitted window
	outs    map[string]*outSeries
	nextID  uint32
	late    int
}

// refInfo is what a ref's labels say, worked out once per ref.
type refInfo struct {
	matched bool
	key     string        // the group: metric name and grouping labels
	labels  labels.Labels // the same as labels
}

type point struct {
	t int64
	v float64
}

// outSeries is one output series the stage declared.
type outSeries struct {
	id      uint32
	lastEnd int64
}

// New is the native.Factory of builtin:aggregate.
func New(config []byte) (native.Stage, error) {
	s, err := parseConfig(config)
	if err != nil {
		return nil, err
	}
	return &Stage{s: s, refs: make(map[uint32]*refInfo), windows: make(map[int64]*window),
		flushed: math.MinInt64, maxT: math.MinInt64, lastOf: make(map[uint32]point), outs: make(map[string]*outSeries)}, nil
}

// Stream implements native.Stage.
func (a *Stage) Stream(req *native.Request, resp *native.Response) error {
	if req.Forget {
		clear(a.refs)
	}
	for i, ref := range req.NewRefs {
		a.refs[ref] = a.info(req.NewLabels[i])
	}
	sm := req.Samples
	w := 0
	for k, ref := range sm.Refs {
		a.maxT = max(a.maxT, sm.T[k]) // time moves with every series
		ri := a.refs[ref]
		if ri == nil || !ri.matched {
			sm.Refs[w], sm.T[w], sm.V[w] = ref, sm.T[k], sm.V[k]
			w++
			continue
		}
		if a.s.keep {
			sm.Refs[w], sm.T[w], sm.V[w] = ref, sm.T[k], sm.V[k]
			w++
		}
		if !value.IsStaleNaN(sm.V[k]) {
			a.add(ref, ri, sm.T[k], sm.V[k])
		}
	}
	sm.Refs, sm.T, sm.V = sm.Refs[:w], sm.T[:w], sm.V[:w]
	a.flushDue(resp)
	if a.late > 0 {
		resp.Dropped = append(resp.Dropped, native.Drop{Reason: "late", Samples: a.late})
		a.late = 0
	}
	return nil
}

// info works out whether a series is aggregated and into which group.
func (a *Stage) info(ls labels.Labels) *refInfo {
	if !a.matches(ls) {
		return &refInfo{}
	}
	b := labels.NewBuilder(ls)
	switch {
	case len(a.s.by) > 0:
		b.Keep(append([]string{labels.MetricName}, a.s.by...)...)
	default:
		b.Del(a.s.without...)
	}
	g := b.Labels()
	return &refInfo{matched: true, key: g.String(), labels: g}
}

func (a *Stage) matches(ls labels.Labels) bool {
	return len(a.s.match) == 0 || native.MatchesAny(a.s.match, ls)
}

// add puts one sample into its window, or counts it late.
func (a *Stage) add(ref uint32, ri *refInfo, t int64, v float64) {
	iv := a.s.interval
	end := floorDiv(t-1, iv)*iv + iv // t in (end-iv, end]
	if end <= a.flushed {
		a.late++
		return
	}
	win := a.windows[end]
	if win == nil {
		win = &window{end: end, groups: make(map[string]*group)}
		a.windows[end] = win
	}
	g := win.groups[ri.key]
	if g == nil {
		g = newGroup(ri.key, ri.labels, a.s)
		win.groups[ri.key] = g
	}
	g.add(ref, t, v, a.s)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// flushDue emits every window whose end is more than delay behind the
// newest sample, oldest first. A due window without samples, right after
// one that was emitted, is emitted empty: its output series go stale.
func (a *Stage) flushDue(resp *native.Response) {
	for {
		end := int64(math.MaxInt64)
		for e := range a.windows {
			end = min(end, e)
		}
		if len(a.outs) > 0 && a.flushed != math.MinInt64 {
			end = min(end, a.flushed+a.s.interval)
		}
		if end == math.MaxInt64 || a.maxT-a.s.delay <= end {
			return
		}
		win := a.windows[end]
		if win == nil {
			win = &window{end: end}
		}
		a.flush(win, resp)
		delete(a.windows, end)
	}
}

// flush emits win's aggregates, then a staleness marker for every output
// series that had a value in the last window and has none in this one.
func (a *Stage) flush(win *window, resp *native.Response) {
	for _, g := range win.groups {
		g.emit(a, win.end, resp)
	}
	for key, o := range a.outs {
		if o.lastEnd < win.end {
			resp.Samples.Append(o.id, win.end, math.Float64frombits(value.StaleNaN))
			resp.Retire = append(resp.Retire, o.id)
			delete(a.outs, key)
		}
	}
	for _, g := range win.groups {
		for ref, sw := range g.series {
			a.lastOf[ref] = point{sw.lastT, sw.lastV}
		}
	}
	for ref, p := range a.lastOf { // forget series gone for two windows
		if p.t <= win.end-2*a.s.interval {
			delete(a.lastOf, ref)
		}
	}
	a.flushed = win.end
}

// put emits one value of an output series, declaring it first if new.
func (a *Stage) put(resp *native.Response, g *group, out, extraName, extraValue string, end int64, v float64) {
	key := g.key + "\xff" + out + "\xff" + extraValue
	glabels := g.labels
	o := a.outs[key]
	if o == nil {
		a.nextID++
		o = &outSeries{id: a.nextID}
		a.outs[key] = o
		b := labels.NewBuilder(glabels)
		name := glabels.Get(labels.MetricName)
		b.Set(labels.MetricName, name+a.s.suffix+out)
		if extraName != "" {
			b.Set(extraName, extraValue)
		}
		resp.Declare = append(resp.Declare, native.Decl{ID: o.id, Labels: b.Labels(), Meta: abi.Metadata{
			Type: "gauge", Help: "builtin:aggregate " + out + " of " + name + " per " + a.s.suffix[1:len(a.s.suffix)-1]}})
	}
	o.lastEnd = end
	resp.Samples.Append(o.id, end, v)
}
