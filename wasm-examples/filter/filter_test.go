package main

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	promql "github.com/prometheus/prometheus/promql/parser"

	"github.com/edgerelay/edgerelay/sdk"
)

// TestSelectorsMatchPromQL compares the plugin's selector parser and
// matching with Prometheus' own PromQL parser and matchers.
func TestSelectorsMatchPromQL(t *testing.T) {
	selectors := []string{
		`up`, `up{job="node"}`, `{__name__=~"go_.*"}`, `node_cpu_seconds_total{mode!="idle", cpu=~"0|1"}`,
		`{job!~"n.*", __name__="up"}`, `{"my.metric"}`, `{"my.metric", "a.b"="c"}`, `up{job='node'}`,
		"up{job=`no\\de`}", `up{job="a\"b"}`, `{__name__=~"(?i)UP"}`, `up{}`, `up{job=""}`, ` up { job = "node" , } `,
	}
	series := []labels.Labels{
		labels.FromStrings("__name__", "up", "job", "node"),
		labels.FromStrings("__name__", "up", "job", `a"b`),
		labels.FromStrings("__name__", "up", "job", `no\de`),
		labels.FromStrings("__name__", "up"),
		labels.FromStrings("__name__", "go_goroutines", "job", "node"),
		labels.FromStrings("__name__", "node_cpu_seconds_total", "mode", "user", "cpu", "1"),
		labels.FromStrings("__name__", "node_cpu_seconds_total", "mode", "idle", "cpu", "1"),
		labels.FromStrings("__name__", "my.metric", "a.b", "c"),
		labels.FromStrings("__name__", "UP", "job", "x"),
	}
	for _, sel := range selectors {
		t.Run(sel, func(t *testing.T) {
			want, err := promql.NewParser(promql.Options{}).ParseMetricSelector(sel)
			if err != nil {
				t.Fatalf("promql: %v", err)
			}
			got, err := parseSelector(sel)
			if err != nil {
				t.Fatalf("plugin: %v", err)
			}
			for _, ls := range series {
				promMatch := true
				for _, m := range want {
					promMatch = promMatch && m.Matches(ls.Get(m.Name))
				}
				var sl sdk.Labels
				ls.Range(func(l labels.Label) { sl = append(sl, sdk.Label{Name: l.Name, Value: l.Value}) })
				if matchAll(got, sl) != promMatch {
					t.Errorf("%s: plugin %v, promql %v", ls, !promMatch, promMatch)
				}
			}
		})
	}
}

func TestBadSelectors(t *testing.T) {
	for _, sel := range []string{`{}`, `{job=""}`, `up{job="x"`, `up{job~"x"}`, `up{job="x"} extra`, `{job=~"("}`, `up{job=x}`} {
		if _, err := parseSelector(sel); err == nil {
			t.Errorf("parseSelector(%q): no error", sel)
		}
	}
}

func TestMaxSeriesPerTarget(t *testing.T) {
	keep, drop, seen = nil, nil, map[string]map[string]struct{}{}
	if err := configure([]byte(`{"max_series_per_target": 2}`)); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, s := range []sdk.Labels{
		sdk.FromStrings("__name__", "a", "job", "j", "instance", "i1"),
		sdk.FromStrings("__name__", "b", "job", "j", "instance", "i1"),
		sdk.FromStrings("__name__", "c", "job", "j", "instance", "i1"), // third of i1: dropped
		sdk.FromStrings("__name__", "a", "job", "j", "instance", "i1"), // seen before: kept
		sdk.FromStrings("__name__", "c", "job", "j", "instance", "i2"), // another target
	} {
		if _, ok := process(s); ok {
			kept++
		}
	}
	if kept != 4 {
		t.Fatalf("kept %d series; want 4", kept)
	}
}
