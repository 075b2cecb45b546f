// Package rules is edgerelay's builtin:rules stage: Prometheus recording
// rules evaluated at the edge over a short in-memory window of what it took
// in, with Prometheus' own PromQL engine (package promql, the only importer
// of it), the results shipped as new series. It is a built-in stage
// written in Go (package native's contract), run by the plugin host.
//
// A group of interval G is evaluated at every multiple of G since the epoch
// (in sample time), once a sample more than delay past that time has
// arrived, as Prometheus evaluates it: each rule's expression as an
// instant query at that time, the result named by record and given the
// rule's labels, written back into the window so that later rules (and
// later evaluations) see it, and a staleness marker for every series a
// rule produced at its last evaluation and not at this one.
//
// A Stage is used by one goroutine at a time.
package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edgerelay/edgerelay/plugins/native"
)

// Config is the stage's configuration (edge.plugins[].config).
type Config struct {
	// Rules is a Prometheus rule file's content; give it as rules_file:
	// path (the host reads the file).
	Rules string `json:"rules"`
	// LookbackDelta is how far back an instant selector looks; default 5m,
	// as Prometheus'.
	LookbackDelta string `json:"lookback_delta"`
	// Delay is how long past an evaluation time (in sample time) its
	// samples may still arrive; default 10s.
	Delay string `json:"delay"`
	// MaxSeries bounds the series kept in the window; default 100000.
	MaxSeries int `json:"max_series"`
}

// group is one rule group, ready to evaluate.
type group struct {
	name     string
	interval int64 // ms
	next     int64 // next evaluation time, ms; 0 until the first sample
	rules    []*rule
}

type rule struct {
	record string
	expr   string
	labels labels.Labels
	prev   map[string]uint32 // output series of the last evaluation: key -> id
}

// Stage evaluates a rule file; build it with New.
type Stage struct {
	groups   []*group
	matchers [][]*labels.Matcher // every selector of every rule: the series stored
	window   int64               // ms of samples the rules need before an evaluation time
	delay    int64
	store    *store
	engine   *promql.Engine
	refs     map[uint32]*refState // input series the rules read, by ref
	maxT     int64
	ids      map[string]uint32 // output series -> id
	nextID   uint32
	dropped  map[string]int
}

const defaultInterval = time.Minute

// New is the native.Factory of builtin:rules.
func New(config []byte) (native.Stage, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(config)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	lookback, err := duration("lookback_delta", c.LookbackDelta, 5*time.Minute, false)
	if err != nil {
		return nil, err
	}
	delay, err := duration("delay", c.Delay, 10*time.Second, true)
	if err != nil {
		return nil, err
	}
	if c.MaxSeries <= 0 {
		c.MaxSeries = 100000
	}
	s := &Stage{delay: delay.Milliseconds(), store: newStore(c.MaxSeries), refs: make(map[uint32]*refState),
		ids: make(map[string]uint32), maxT: math.MinInt64, dropped: make(map[string]int)}
	if err := s.load(c.Rules, lookback); err != nil {
		return nil, err
	}
	s.engine = promql.NewEngine(promql.EngineOpts{
		Logger: slog.New(slog.DiscardHandler), MaxSamples: 50_000_000, Timeout: time.Minute,
		LookbackDelta: lookback, EnableAtModifier: true, EnableNegativeOffset: true,
	})
	return s, nil
}

func duration(field, v string, def time.Duration, zeroOK bool) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := model.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		return 0, fmt.Errorf("%s must be a positive duration; got %q", field, v)
	}
	return time.Duration(d), nil
}

// load parses and checks the rule file as promtool check rules does, and
// works out the window every expression needs.
func (s *Stage) load(content string, lookback time.Duration) error {
	if strings.TrimSpace(content) == "" {
		return errors.New("rules: no rule file (set rules_file: path)")
	}
	p := parser.NewParser(parser.Options{})
	rgs, errs := rulefmt.Parse([]byte(content), false, model.LegacyValidation, p, nil)
	if len(errs) > 0 {
		return fmt.Errorf("rules: %w", errors.Join(errs...))
	}
	var need time.Duration
	for _, rg := range rgs.Groups {
		if rg.Limit != 0 || rg.QueryOffset != nil || len(rg.Labels) > 0 {
			return fmt.Errorf("rules: group %q: limit, query_offset and labels are not supported", rg.Name)
		}
		g := &group{name: rg.Name, interval: time.Duration(rg.Interval).Milliseconds()}
		if g.interval == 0 {
			g.interval = defaultInterval.Milliseconds()
		}
		for _, r := range rg.Rules {
			if r.Alert != "" {
				return fmt.Errorf("rules: group %q: alerting rule %q: builtin:rules evaluates recording rules only", rg.Name, r.Alert)
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				return fmt.Errorf("rules: group %q, rule %q: %w", rg.Name, r.Record, err)
			}
			need = max(need, windowOf(expr, lookback))
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					s.matchers = append(s.matchers, vs.LabelMatchers)
				}
				return nil
			})
			g.rules = append(g.rules, &rule{record: r.Record, expr: r.Expr, labels: labels.FromMap(r.Labels), prev: map[string]uint32{}})
		}
		s.groups = append(s.groups, g)
	}
	if len(s.groups) == 0 {
		return errors.New("rules: the rule file has no group")
	}
	s.window = need.Milliseconds()
	return nil
}

// windowOf is how much history before the evaluation time expr reads: an
// instant selector its lookback, a range selector its range, each plus
// its offset; a subquery its range plus what its inner expression needs.
func windowOf(expr parser.Expr, lookback time.Duration) time.Duration {
	var need time.Duration
	var walk func(n parser.Node, extra time.Duration)
	walk = func(n parser.Node, extra time.Duration) {
		switch e := n.(type) {
		case *parser.MatrixSelector:
			vs := e.VectorSelector.(*parser.VectorSelector)
			need = max(need, extra+e.Range+vs.OriginalOffset)
			return
		case *parser.VectorSelector:
			need = max(need, extra+lookback+e.OriginalOffset)
			return
		case *parser.SubqueryExpr:
			walk(e.Expr, extra+e.Range+e.OriginalOffset)
			return
		}
		for _, c := range parser.Children(n) {
			walk(c, extra)
		}
	}
	walk(expr, 0)
	return need
}

// refState is an input series the rules read: its labels and its place
// in the store (nil until it has one; replaced when trimmed away).
type refState struct {
	ls labels.Labels
	ms *memSeries
}

// wanted reports whether some selector of the rules matches ls.
func (s *Stage) wanted(ls labels.Labels) bool { return native.MatchesAny(s.matchers, ls) }

// Stream implements native.Stage: stores the samples the rules can read,
// passes every input sample on, and evaluates the groups that are due.
func (s *Stage) Stream(req *native.Request, resp *native.Response) error {
	if req.Forget {
		clear(s.refs)
	}
	for i, ref := range req.NewRefs {
		if s.wanted(req.NewLabels[i]) {
			s.refs[ref] = &refState{ls: req.NewLabels[i]}
		}
	}
	sm := req.Samples
	for k, ref := range sm.Refs {
		s.maxT = max(s.maxT, sm.T[k])
		rs := s.refs[ref]
		if rs == nil {
			continue
		}
		if rs.ms == nil || rs.ms.dead {
			if rs.ms = s.store.get(rs.ls); rs.ms == nil {
				s.dropped["over_limit"]++
				continue
			}
		}
		if !rs.ms.add(sm.T[k], sm.V[k]) {
			s.dropped["out_of_order"]++
		}
	}
	s.evaluateDue(resp)
	for reason, n := range s.dropped {
		resp.Dropped = append(resp.Dropped, native.Drop{Reason: reason, Samples: n})
		delete(s.dropped, reason)
	}
	return nil
}
