package rules

import (
	"context"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// store is the bounded in-memory storage the rules are evaluated over: per
// series its float samples in timestamp order, trimmed to the window the
// rules need. It implements storage.Queryable for the PromQL engine.
type store struct {
	series map[string]*memSeries // by labels' string
	max    int
}

type memSeries struct {
	ls   labels.Labels
	t    []int64
	v    []float64
	dead bool // trimmed away: whoever holds it gets a new one
}

func newStore(max int) *store { return &store{series: make(map[string]*memSeries), max: max} }

// get returns the series of ls, creating it unless the store is full.
func (s *store) get(ls labels.Labels) *memSeries {
	key := ls.String()
	ms := s.series[key]
	if ms == nil {
		if len(s.series) >= s.max {
			return nil
		}
		ms = &memSeries{ls: ls}
		s.series[key] = ms
	}
	return ms
}

// add appends a sample; one not after the series' last is dropped (false).
func (ms *memSeries) add(t int64, v float64) bool {
	if n := len(ms.t); n > 0 && t <= ms.t[n-1] {
		return false
	}
	ms.t, ms.v = append(ms.t, t), append(ms.v, v)
	return true
}

// trim drops samples at or before mint, and series left empty.
func (s *store) trim(mint int64) {
	for key, ms := range s.series {
		i, _ := slices.BinarySearch(ms.t, mint+1)
		if i == len(ms.t) {
			ms.dead = true
			delete(s.series, key)
			continue
		}
		if i > 0 {
			ms.t, ms.v = slices.Clone(ms.t[i:]), slices.Clone(ms.v[i:])
		}
	}
}

// Querier implements storage.Queryable.
func (s *store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{s: s, mint: mint, maxt: maxt}, nil
}

type querier struct {
	s          *store
	mint, maxt int64
}

func (q *querier) Select(_ context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	var out []storage.Series
	for _, sr := range q.s.series {
		ok := true
		for _, m := range ms {
			if !m.Matches(sr.ls.Get(m.Name)) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		lo, _ := slices.BinarySearch(sr.t, mint)
		hi, _ := slices.BinarySearch(sr.t, maxt+1)
		if lo < hi {
			out = append(out, &series{ls: sr.ls, t: sr.t[lo:hi], v: sr.v[lo:hi]})
		}
	}
	if sortSeries {
		slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	}
	return &seriesSet{list: out, i: -1}
}

func (q *querier) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (q *querier) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (q *querier) Close() error { return nil }

type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series                { return s.list[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// series is a view of one memSeries' samples; it stays valid while the
// store is not trimmed (trim copies rather than moves).
type series struct {
	ls labels.Labels
	t  []int64
	v  []float64
}

func (s *series) Labels() labels.Labels { return s.ls }

func (s *series) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	return storage.NewListSeriesIterator(s)
}

// Get and Len make a series storage.Samples.
func (s *series) Get(i int) chunks.Sample { return fsample{t: s.t[i], f: s.v[i]} }
func (s *series) Len() int                { return len(s.t) }

// fsample is one float sample as chunks.Sample.
type fsample struct {
	t int64
	f float64
}

func (p fsample) T() int64                      { return p.t }
func (p fsample) ST() int64                     { return 0 }
func (p fsample) F() float64                    { return p.f }
func (p fsample) H() *histogram.Histogram       { return nil }
func (p fsample) FH() *histogram.FloatHistogram { return nil }
func (p fsample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (p fsample) Copy() chunks.Sample           { return p }
