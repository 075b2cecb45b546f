// Command sumby is the Go twin of ../sumby.c, on package sdk: it sums, per
// window of interval and per metric name and value of the label by, the
// samples of the series whose name starts with prefix, and emits each sum
// at its window's end as <metric>:<interval>_by_<by>_sum (builtin:aggregate's
// name for its sum output). See ../README.md.
package main

import (
	"errors"
	"math"
	"strings"
	"time"

	"github.com/edgerelay/edgerelay/sdk"
)

var conf = struct {
	Prefix    string `json:"prefix"`
	By        string `json:"by"`
	Interval  string `json:"interval"`
	Delay     string `json:"delay"`
	KeepInput bool   `json:"keep_input"`
}{By: "job", Interval: "1m", Delay: "10s", KeepInput: true}

var interval, delay int64

func main() {}

func init() {
	sdk.Register(sdk.Plugin{Init: configure, Stream: process})
}

func configure(raw []byte) error {
	if err := sdk.DecodeConfig(raw, &conf); err != nil {
		return err
	}
	if conf.By == "" || conf.By == sdk.MetricName {
		return errors.New("by must name a label other than __name__")
	}
	i, err1 := time.ParseDuration(conf.Interval)
	d, err2 := time.ParseDuration(conf.Delay)
	if err1 != nil || err2 != nil || i <= 0 || d <= 0 {
		return errors.New("interval and delay must be durations such as 1m or 10s")
	}
	if interval, delay = i.Milliseconds(), d.Milliseconds(); delay >= interval {
		return errors.New("delay must be shorter than interval")
	}
	return nil
}

// group is one output series: its labels and its two open windows' sums,
// in slot (end / interval) % 2. Its id is its index + 1.
type group struct {
	name, value string
	declared    bool
	sum         [2]float64
	n           [2]int
	lastEnd     int64
}

var (
	groups  []*group
	byKey   = map[string]uint32{} // group index + 1
	refs    = map[uint32]uint32{} // group index + 1, 0: not summed
	slotEnd [2]int64
	flushed int64 = math.MinInt64
	maxT    int64 = math.MinInt64
	live    int
)

const staleNaN = 0x7ff0000000000002

func groupOf(ls sdk.Labels) uint32 {
	name, v := ls.Get(sdk.MetricName), ls.Get(conf.By)
	if name == "" || !strings.HasPrefix(name, conf.Prefix) {
		return 0
	}
	key := name + "\xff" + v
	if g, ok := byKey[key]; ok {
		return g
	}
	groups = append(groups, &group{name: name, value: v})
	byKey[key] = uint32(len(groups))
	return uint32(len(groups))
}

func process(s *sdk.Stream) error {
	if len(refs) > 1<<15 { // as the C twin: start again; the batch's refs are told
		clear(refs)
	}
	w := 0
	for i, ref := range s.Refs {
		t, v := s.T[i], s.V[i]
		maxT = max(maxT, t)
		g, ok := refs[ref]
		if !ok {
			g = 0
			if ls := s.Labels(ref); ls != nil {
				g = groupOf(ls)
			}
			refs[ref] = g
		}
		stale := math.Float64bits(v) == staleNaN
		summed := g != 0 && !stale && add(s, g-1, t, v)
		if conf.KeepInput || g == 0 || (!summed && !stale) {
			s.Refs[w], s.T[w], s.V[w] = ref, t, v
			w++
		}
	}
	s.Refs, s.T, s.V = s.Refs[:w], s.T[:w], s.V[:w]
	if maxT > math.MinInt64+delay {
		flushBefore(s, maxT-delay)
	}
	return nil
}

func add(s *sdk.Stream, g uint32, t int64, v float64) bool {
	q := (t - 1) / interval
	if (t-1)%interval < 0 {
		q--
	}
	end := q*interval + interval
	k := end / interval & 1
	if end <= flushed {
		return false
	}
	if slotEnd[k] != 0 && slotEnd[k] < end {
		flushBefore(s, slotEnd[k]+1) // a third window
	}
	if slotEnd[k] != 0 && slotEnd[k] != end {
		return false
	}
	slotEnd[k] = end
	groups[g].sum[k] += v
	groups[g].n[k]++
	return true
}

func flushBefore(s *sdk.Stream, bound int64) {
	for {
		end := int64(math.MaxInt64)
		for _, e := range slotEnd {
			if e != 0 {
				end = min(end, e)
			}
		}
		if live > 0 && flushed != math.MinInt64 {
			end = min(end, flushed+interval)
		}
		if end == math.MaxInt64 || end >= bound {
			return
		}
		flush(s, end)
	}
}

func flush(s *sdk.Stream, end int64) {
	k := end / interval & 1
	mine := slotEnd[k] == end // else the slot holds a later window
	for g, gr := range groups {
		id := uint32(g + 1)
		switch {
		case mine && gr.n[k] > 0:
			if !gr.declared {
				s.Declare(id, sdk.FromStrings(sdk.MetricName, gr.name+":"+conf.Interval+"_by_"+conf.By+"_sum", conf.By, gr.value),
					sdk.Metadata{Type: "gauge", Help: "sumby: sum per window"})
				gr.declared = true
				live++
			}
			s.Emit(id, end, gr.sum[k])
			gr.lastEnd = end
		case gr.declared && gr.lastEnd < end:
			s.Emit(id, end, math.Float64frombits(staleNaN))
			s.Retire(id)
			gr.declared = false
			live--
		}
		if mine {
			gr.sum[k], gr.n[k] = 0, 0
		}
	}
	if mine {
		slotEnd[k] = 0
	}
	flushed = end
}
