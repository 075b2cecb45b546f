package status

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Figures are the values of a registry's counters and gauges at one
// moment, by series as /metrics writes it: name{label="value",...}, labels
// in the order the exposition gives them (sorted by name). A status page
// takes its figures from them, so that it shows what /metrics shows.
type Figures map[string]float64

// Gather reads g's counters, gauges and untyped metrics; a failed gather
// gives what it could read.
func Gather(g prometheus.Gatherer) Figures {
	mfs, _ := g.Gather()
	f := Figures{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			kv := make([]string, 0, 2*len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName(), l.GetValue())
			}
			f[Key(mf.GetName(), kv...)] = v
		}
	}
	return f
}

// Key names a series: name and label pairs (name, value, ...), labels
// sorted by name as the exposition writes them.
func Key(name string, kv ...string) string {
	if len(kv) == 0 {
		return name
	}
	pairs := make([][2]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, [2]string{kv[i], kv[i+1]})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p[0])
		b.WriteString("=")
		b.WriteString(strconv.Quote(p[1]))
	}
	b.WriteByte('}')
	return b.String()
}

// Sum adds the values of every series of name, whatever their labels.
func (f Figures) Sum(name string) float64 {
	var sum float64
	for k, v := range f {
		if k == name || (strings.HasPrefix(k, name) && k[len(name)] == '{') {
			sum += v
		}
	}
	return sum
}

// Cell is the series key's value, shown as Num shows it and marked with
// the series it comes from; "—" (and no mark) when the registry has no
// such series.
func (f Figures) Cell(key string) Row {
	v, ok := f[key]
	if !ok {
		return Row{Value: "—"}
	}
	return Row{Value: Num(v), Metric: key}
}

// M is a row named name showing series key (Cell).
func (f Figures) M(name, key string) Row {
	r := f.Cell(key)
	r.Name = name
	return r
}

// Num writes v as a reader and a script both read it: an integer in full,
// without separators; otherwise Go's shortest representation.
func Num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Ago writes a Unix timestamp in seconds as the time and how long ago it
// was; "never" for 0.
func Ago(unixSeconds float64, now time.Time) string {
	if unixSeconds <= 0 {
		return "never"
	}
	t := time.UnixMilli(int64(unixSeconds * 1e3))
	return t.UTC().Format("15:04:05 UTC") + " (" + Age(now.Sub(t)) + " ago)"
}

// Age writes a duration for the page: 4s, 3m12s, 2h5m, 3d4h.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
	case d >= 48*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d" + strconv.Itoa(int(d%(24*time.Hour)/time.Hour)) + "h"
	case d >= time.Hour:
		return d.Truncate(time.Minute).String()
	}
	return d.Truncate(time.Second).String()
}

// SumWith adds the values of the series of name that have label="value",
// whatever their other labels.
func (f Figures) SumWith(name, label, value string) float64 {
	pair := label + "=" + strconv.Quote(value)
	var sum float64
	for k, v := range f {
		rest, ok := strings.CutPrefix(k, name+"{")
		if !ok {
			continue
		}
		for p := range strings.SplitSeq(strings.TrimSuffix(rest, "}"), ",") {
			if p == pair {
				sum += v
				break
			}
		}
	}
	return sum
}
