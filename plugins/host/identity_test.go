package host

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// TestDeriveIdentity pins the rules by which a scrape batch's identity is
// derived from the chain's answer for the target's label set.
func TestDeriveIdentity(t *testing.T) {
	in := labels.FromStrings("__name__", "up", "env", "prod", "instance", "10.0.0.1:9100", "job", "node")
	kept := func(ls ...string) identAnswer { return answerOf(in, result{out: labels.FromStrings(ls...), stage: -1}) }
	dropped := answerOf(in, result{stage: 0})
	series := func(sets ...labels.Labels) []relay.Series {
		var out []relay.Series
		for _, ls := range sets {
			out = append(out, relay.Series{Labels: ls, Samples: []relay.Sample{{T: 1, V: 1}}})
		}
		return out
	}
	cases := []struct {
		name          string
		a             identAnswer
		series        []relay.Series
		job, instance string
		target        labels.Labels
	}{
		{
			name: "kept and rewritten: the output, without __name__",
			a:    kept("__name__", "up", "env", "prod", "instance", "Hi-ysZOg", "job", "node"),
			job:  "node", instance: "Hi-ysZOg",
			target: labels.FromStrings("env", "prod", "instance", "Hi-ysZOg", "job", "node"),
		},
		{
			name: "kept without instance: empty instance, never the input's",
			a:    kept("__name__", "up", "job", "node"),
			job:  "node", instance: "",
			target: labels.FromStrings("job", "node"),
		},
		{
			name: "dropped: from the first series the chain kept, labels named like the target's",
			a:    dropped,
			series: series(
				labels.FromStrings("__name__", "node_load1", "env", "prod", "instance", "Hi-ysZOg", "job", "node", "site", "x"),
				labels.FromStrings("__name__", "node_load5", "instance", "other", "job", "node"),
			),
			job: "node", instance: "Hi-ysZOg",
			target: labels.FromStrings("env", "prod", "instance", "Hi-ysZOg", "job", "node"),
		},
		{
			name: "dropped and nothing kept: empty",
			a:    dropped,
			job:  "", instance: "",
			target: labels.EmptyLabels(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &relay.Batch{Scrape: true, Job: "node", Instance: "10.0.0.1:9100", TargetLabels: in.DropMetricName(), Series: tc.series}
			deriveIdentity(b, tc.a)
			if b.Job != tc.job || b.Instance != tc.instance || !labels.Equal(b.TargetLabels, tc.target) {
				t.Fatalf("job=%q instance=%q target=%s; want %q %q %s", b.Job, b.Instance, b.TargetLabels, tc.job, tc.instance, tc.target)
			}
		})
	}
}

func TestIdentityInput(t *testing.T) {
	b := &relay.Batch{Scrape: true, Job: "j", Instance: "i:1", TargetLabels: labels.FromStrings("instance", "i:1", "job", "j", "rack", "r7")}
	if got, want := identityInput(b), labels.FromStrings("__name__", "up", "instance", "i:1", "job", "j", "rack", "r7"); !labels.Equal(got, want) {
		t.Errorf("with target labels: %s, want %s", got, want)
	}
	b.TargetLabels = labels.EmptyLabels()
	if got, want := identityInput(b), labels.FromStrings("__name__", "up", "instance", "i:1", "job", "j"); !labels.Equal(got, want) {
		t.Errorf("without target labels: %s, want %s", got, want)
	}
}

// scrapeOf is one scrape of target 10.0.0.1:9100 as the appender hands it
// to the chain: its series carry the target's labels, up among them.
func scrapeOf() *relay.Batch {
	target := labels.FromStrings("env", "prod", "instance", "10.0.0.1:9100", "job", "node")
	with := func(kv ...string) labels.Labels {
		b := labels.NewBuilder(target)
		for i := 0; i < len(kv); i += 2 {
			b.Set(kv[i], kv[i+1])
		}
		return b.Labels()
	}
	b := batchOf(
		with("__name__", "node_load1"),
		with("__name__", "node_cpu_seconds_total", "cpu", "0"),
		with("__name__", "up"),
	)
	b.Job, b.Instance, b.TargetLabels = "node", "10.0.0.1:9100", target
	return b
}

// noRawAddress fails if the target's address is anywhere in b.
func noRawAddress(t *testing.T, b *relay.Batch) {
	t.Helper()
	check := func(where, s string) {
		if strings.Contains(s, "10.0.0.1") {
			t.Fatalf("%s holds the raw address: %s", where, s)
		}
	}
	check("job", b.Job)
	check("instance", b.Instance)
	check("target labels", b.TargetLabels.String())
	for _, s := range b.Series {
		check("series", s.Labels.String())
	}
}

func TestIdentityAnonymized(t *testing.T) {
	skipGoModulesUnderRace(t)
	reg := prometheus.NewRegistry()
	c := newTestChain(t, reg, stageConf(t, "anon", "builtin:anonymize", `{labels: [instance], key: k1}`))
	var first string
	for round := range 3 {
		b := scrapeOf()
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		noRawAddress(t, b)
		if b.Job != "node" || len(b.Instance) != 16 || b.Instance != b.Series[0].Labels.Get("instance") {
			t.Fatalf("round %d: job %q instance %q; series %s", round, b.Job, b.Instance, b.Series[0].Labels)
		}
		if want := labels.FromStrings("env", "prod", "instance", b.Instance, "job", "node"); !labels.Equal(b.TargetLabels, want) {
			t.Fatalf("round %d: target labels %s, want %s", round, b.TargetLabels, want)
		}
		if round == 0 {
			first = b.Instance
		} else if b.Instance != first {
			t.Fatalf("round %d: instance %q, first round %q: the key is not stable", round, b.Instance, first)
		}
	}
	// The identity rode in the same call as the series, and later rounds
	// asked nobody.
	if got := testutil.ToFloat64(c.m.calls.WithLabelValues("anon")); got != 1 {
		t.Errorf("anonymize calls = %v; want 1", got)
	}
}

func TestIdentityRelabelled(t *testing.T) {
	skipGoModulesUnderRace(t)
	c := newTestChain(t, nil, stageConf(t, "relabel", "builtin:relabel", `
relabel_configs:
  - source_labels: [instance]
    regex: '10\.0\.0\.(\d+):.*'
    target_label: instance
    replacement: host-$1
  - regex: env
    action: labeldrop
`))
	b := scrapeOf()
	if err := c.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	noRawAddress(t, b)
	if want := labels.FromStrings("instance", "host-1", "job", "node"); b.Instance != "host-1" || !labels.Equal(b.TargetLabels, want) {
		t.Fatalf("instance %q target labels %s; want host-1, %s", b.Instance, b.TargetLabels, want)
	}
}

// TestIdentityWhenUpIsDropped: a filter keeping some metric names drops the
// up series and with it the target's label set; the identity then comes
// from the first series kept, which went through the whole chain.
func TestIdentityWhenUpIsDropped(t *testing.T) {
	skipGoModulesUnderRace(t)
	c := newTestChain(t, nil,
		stageConf(t, "filter", "builtin:filter", `{keep: ['{__name__=~"node_.*"}']}`),
		stageConf(t, "anon", "builtin:anonymize", `{labels: [instance], key: k1}`),
	)
	for round := range 2 {
		b := scrapeOf()
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		noRawAddress(t, b)
		if len(b.Series) != 2 || b.Instance == "" || b.Instance != b.Series[0].Labels.Get("instance") {
			t.Fatalf("round %d: instance %q, series %v", round, b.Instance, seriesStrings(b))
		}
		if want := labels.FromStrings("env", "prod", "instance", b.Instance, "job", "node"); !labels.Equal(b.TargetLabels, want) {
			t.Fatalf("round %d: target labels %s, want %s", round, b.TargetLabels, want)
		}
	}
}

// TestIdentityUnderRace runs the identity path (memo, per-target memory,
// the extra label set in a call) with a small module, under -race too.
func TestIdentityUnderRace(t *testing.T) {
	c := newTestChain(t, nil, stageConf(t, "pass", "testdata/passthrough.wasm", ""))
	for round := range 3 {
		b := scrapeOf()
		b.TargetLabels = labels.FromStrings("instance", "10.0.0.1:9100", "job", "node", "rack", "r7")
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if want := labels.FromStrings("instance", "10.0.0.1:9100", "job", "node", "rack", "r7"); !labels.Equal(b.TargetLabels, want) || b.Instance != "10.0.0.1:9100" {
			t.Fatalf("round %d: instance %q target labels %s", round, b.Instance, b.TargetLabels)
		}
	}
	if got := testutil.ToFloat64(c.m.calls.WithLabelValues("pass")); got != 1 {
		t.Errorf("calls = %v; want 1", got)
	}
}
