package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"

	"github.com/edgerelay/edgerelay/plugins/native"
)

// maxCatchUp bounds the evaluations of one group in one call: after a
// jump in sample time, only the last ones are evaluated.
const maxCatchUp = 100

// evaluateDue evaluates every group whose next evaluation time is more
// than delay behind the newest sample, then trims the window.
func (s *Stage) evaluateDue(resp *native.Response) {
	if s.maxT == math.MinInt64 {
		return
	}
	mint := int64(math.MaxInt64)
	for _, g := range s.groups {
		if g.next == 0 {
			g.next = (s.maxT/g.interval + 1) * g.interval
		}
		if behind := (s.maxT - s.delay - g.next) / g.interval; behind > maxCatchUp {
			g.next += (behind - maxCatchUp) * g.interval
		}
		for g.next+s.delay < s.maxT {
			for _, r := range g.rules {
				if err := s.evalRule(r, g.next, resp); err != nil {
					resp.Warnings = append(resp.Warnings, fmt.Errorf("group %q, rule %q at %s: %w", g.name, r.record, time.UnixMilli(g.next).UTC().Format(time.RFC3339), err))
				}
			}
			g.next += g.interval
		}
		mint = min(mint, g.next)
	}
	s.store.trim(mint - s.window - 1)
}

var errDuplicate = errors.New("vector contains metrics with the same labelset after applying rule labels")

// evalRule evaluates r at t as Prometheus' recording rules do, emits its
// samples (writing them into the window too) and staleness markers for
// the series it produced last time and not now. A failed evaluation
// produces nothing, as in Prometheus (the last series go stale).
func (s *Stage) evalRule(r *rule, t int64, resp *native.Response) error {
	vec, err := s.query(r.expr, t)
	if err == nil {
		vec, err = relabel(vec, r)
	}
	cur := make(map[string]uint32, len(vec))
	for _, smp := range vec {
		if smp.H != nil {
			// The window holds floats only (a stream stage gets no
			// histogram columns), so no selector returns a native
			// histogram; should an expression make one, it is counted,
			// since a native.Response carries floats only.
			s.dropped["histogram_result"]++
			continue
		}
		key := smp.Metric.String()
		id, ok := s.ids[key]
		if !ok {
			s.nextID++
			id = s.nextID
			s.ids[key] = id
			resp.Declare = append(resp.Declare, native.Decl{ID: id, Labels: smp.Metric})
		}
		cur[key] = id
		resp.Samples.Append(id, t, smp.F)
		s.record(smp.Metric, t, smp.F)
	}
	stale := math.Float64frombits(value.StaleNaN)
	for key, id := range r.prev {
		if _, ok := cur[key]; ok {
			continue
		}
		resp.Samples.Append(id, t, stale)
		resp.Retire = append(resp.Retire, id)
		delete(s.ids, key)
		if ms := s.store.series[key]; ms != nil {
			ms.add(t, stale)
		}
	}
	r.prev = cur
	return err
}

// record writes a rule's result into the window.
func (s *Stage) record(ls labels.Labels, t int64, v float64) {
	ms := s.store.get(ls)
	if ms == nil {
		s.dropped["over_limit"]++
		return
	}
	ms.add(t, v)
}

// query runs expr as an instant query at t; a scalar becomes a vector of
// one sample without labels, as in Prometheus' rule manager.
func (s *Stage) query(expr string, t int64) (promql.Vector, error) {
	ctx := context.Background()
	q, err := s.engine.NewInstantQuery(ctx, s.store, nil, expr, time.UnixMilli(t))
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	}
	return nil, errors.New("rule result is not a vector or scalar")
}

// relabel names the samples by the rule's record and sets its labels.
func relabel(vec promql.Vector, r *rule) (promql.Vector, error) {
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range vec {
		lb.Reset(vec[i].Metric)
		lb.Set(labels.MetricName, r.record)
		r.labels.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
		vec[i].Metric = lb.Labels()
	}
	if vec.ContainsSameLabelset() {
		return nil, errDuplicate
	}
	return vec, nil
}
