package host

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	yamlv2 "go.yaml.in/yaml/v2"

	"github.com/edgerelay/edgerelay/relay/config"
)

// promRelabel applies rules (YAML list) with Prometheus' own model/relabel.
func promRelabel(t testing.TB, rulesYAML string, ls labels.Labels) (labels.Labels, bool, error) {
	var cfgs []*relabel.Config
	if err := yamlv2.UnmarshalStrict([]byte(rulesYAML), &cfgs); err != nil {
		return labels.EmptyLabels(), false, err
	}
	for _, c := range cfgs {
		if err := c.Validate(model.UTF8Validation); err != nil {
			return labels.EmptyLabels(), false, err
		}
	}
	lb := labels.NewBuilder(ls)
	keep := relabel.ProcessBuilder(lb, cfgs...)
	out := lb.Labels()
	return out, keep && !out.IsEmpty(), nil
}

// wasmRelabel applies the same rules through builtin:relabel in a real chain.
func wasmRelabel(t testing.TB, rulesYAML string, ls labels.Labels) (labels.Labels, bool, error) {
	indented := "relabel_configs:\n  " + strings.ReplaceAll(strings.TrimSpace(rulesYAML), "\n", "\n  ")
	c, err := NewChain(context.Background(), []config.PluginConfig{stageConf(t, "relabel", "builtin:relabel", indented)}, Options{CacheSize: 16})
	if err != nil {
		return labels.EmptyLabels(), false, err
	}
	defer c.Close(context.Background())
	b := batchOf(ls)
	if err := c.Process(context.Background(), b); err != nil {
		t.Fatalf("Process: %v", err)
	}
	if len(b.Series) == 0 {
		return labels.EmptyLabels(), false, nil
	}
	return b.Series[0].Labels, true, nil
}

func compareRelabel(t testing.TB, rules string, ls labels.Labels) {
	t.Helper()
	want, wantKeep, wantErr := promRelabel(t, rules, ls)
	got, gotKeep, gotErr := wasmRelabel(t, rules, ls)
	if (wantErr != nil) != (gotErr != nil) {
		t.Fatalf("rules %s\nprometheus error: %v\nplugin error: %v", rules, wantErr, gotErr)
	}
	if wantErr != nil {
		return
	}
	if wantKeep != gotKeep || (wantKeep && !labels.Equal(want, got)) {
		t.Fatalf("rules %s\ninput %s\nprometheus: keep=%v %s\nplugin:     keep=%v %s", rules, ls, wantKeep, want, gotKeep, got)
	}
}

var relabelInput = labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "3", "mode", "idle",
	"instance", "host-1.example:9100", "job", "node", "__meta_env", "prod", "__meta_zone", "eu-1", "Team", "Ops")

func TestRelabelMatchesPrometheus(t *testing.T) {
	skipGoModulesUnderRace(t)
	cases := map[string]string{
		"replace default":                `[{source_labels: [job], target_label: job_copy}]`,
		"replace regex groups":           `[{source_labels: [instance], regex: '([^.]+)\..*:(\d+)', target_label: host, replacement: '$1-$2'}]`,
		"replace no match":               `[{source_labels: [instance], regex: 'nomatch', target_label: host, replacement: x}]`,
		"replace empty deletes":          `[{source_labels: [absent], target_label: mode}]`,
		"replace constant":               `[{target_label: env, replacement: lab}]`,
		"replace target from group":      `[{source_labels: [mode], regex: '(.*)', target_label: 'x_${1}', replacement: 'v'}]`,
		"replace invalid target skipped": `[{source_labels: [absent], regex: '(.*)', target_label: '${1}', replacement: 'v'}]`,
		"separator":                      `[{source_labels: [job, cpu, mode], separator: '/', target_label: path}]`,
		"empty separator":                `[{source_labels: [job, cpu], separator: '', target_label: path}]`,
		"keep match":                     `[{source_labels: [mode], regex: 'idle|user', action: keep}]`,
		"keep no match":                  `[{source_labels: [mode], regex: 'user', action: keep}]`,
		"drop match":                     `[{source_labels: [__name__], regex: 'node_cpu_.*', action: drop}]`,
		"drop on missing label":          `[{source_labels: [absent], regex: '', action: drop}]`,
		"keepequal":                      `[{source_labels: [cpu], target_label: cpu, action: keepequal}]`,
		"keepequal differs":              `[{source_labels: [cpu], target_label: mode, action: keepequal}]`,
		"dropequal":                      `[{source_labels: [job], target_label: job, action: dropequal}]`,
		"hashmod":                        `[{source_labels: [instance], modulus: 7, target_label: shard, action: hashmod}]`,
		"hashmod then keep":              `[{source_labels: [instance], modulus: 4, target_label: __tmp_shard, action: hashmod}, {source_labels: [__tmp_shard], regex: '1', action: keep}]`,
		"labelmap":                       `[{regex: '__meta_(.+)', action: labelmap}]`,
		"labelmap replacement":           `[{regex: '__meta_(.+)', replacement: 'meta_$1_x', action: labelmap}]`,
		"labelmap collision":             `[{regex: '(cpu|mode)', replacement: 'both', action: labelmap}]`,
		"labeldrop":                      `[{regex: '__meta_.*', action: labeldrop}]`,
		"labelkeep":                      `[{regex: '__name__|job|instance', action: labelkeep}]`,
		"labelkeep all gone":             `[{regex: 'nothing', action: labelkeep}]`,
		"lowercase":                      `[{source_labels: [Team], target_label: team, action: lowercase}]`,
		"uppercase":                      `[{source_labels: [mode, cpu], target_label: MODE, action: uppercase}]`,
		"chain reads changes":            `[{target_label: a, replacement: one}, {source_labels: [a], target_label: b, replacement: '${1}-two'}, {source_labels: [b], regex: 'one-two', action: keep}]`,
		"set then delete then set":       `[{target_label: cpu, replacement: ''}, {target_label: cpu, replacement: 'x'}, {regex: 'cpu', action: labelmap, replacement: cpu2}]`,
		"action case":                    `[{source_labels: [mode], regex: idle, action: Drop}]`,
		"dollar in value":                `[{source_labels: [job], regex: '(.*)', target_label: price, replacement: '$$1 ${1}'}]`,
		"multiline regex":                `[{source_labels: [job], regex: 'no.*', target_label: m, replacement: ok}]`,
		"bad action":                     `[{action: explode}]`,
		"hashmod zero modulus":           `[{source_labels: [a], target_label: s, action: hashmod}]`,
		"replace without target":         `[{source_labels: [a]}]`,
		"keepequal with regex":           `[{source_labels: [a], target_label: b, regex: x, action: keepequal}]`,
		"labeldrop with source":          `[{source_labels: [a], regex: x, action: labeldrop}]`,
		"bad regex":                      `[{source_labels: [a], regex: '(', target_label: b}]`,
		"lowercase with replacement":     `[{source_labels: [a], target_label: b, replacement: x, action: lowercase}]`,
	}
	for name, rules := range cases {
		t.Run(name, func(t *testing.T) { compareRelabel(t, rules, relabelInput) })
	}
}

// fuzzRuleSets cover every action; the fuzzer varies the input labels,
// the table above varies the rules.
var fuzzRuleSets = []string{
	`[{source_labels: [job, name], regex: '(\w+);(.*)', target_label: '${1}_x', replacement: '$2$2'}, {source_labels: [v], regex: '.*a.*', action: drop}]`,
	`[{source_labels: [name], regex: '(.+)', action: keep}, {source_labels: [name, v], target_label: h, modulus: 13, action: hashmod}]`,
	`[{regex: '(n|v)(.*)', replacement: 'm_$2', action: labelmap}, {regex: 'm_.*|__name__|job', action: labelkeep}]`,
	`[{source_labels: [v], target_label: name, action: keepequal}, {source_labels: [name], target_label: U, action: uppercase}]`,
	`[{source_labels: [v], target_label: name, action: dropequal}, {source_labels: [v], target_label: l, action: lowercase}, {regex: 'j.*', action: labeldrop}]`,
	`[{source_labels: [v], regex: '(.*)', target_label: '$1', replacement: '$1'}, {source_labels: [name], target_label: job}]`,
}

var fuzzChains = map[int]*Chain{}

// FuzzRelabelMatchesPrometheus runs fuzzed label sets through each rule set
// with Prometheus' model/relabel and with builtin:relabel in wazero.
func FuzzRelabelMatchesPrometheus(f *testing.F) {
	f.Add(uint8(0), "name", "idle", "v", "abc")
	f.Add(uint8(2), "name", "x", "v", "y")
	f.Add(uint8(3), "name", "same", "v", "same")
	f.Add(uint8(5), "name", "", "v", "ok_label")
	f.Fuzz(func(t *testing.T, set uint8, n1, v1, n2, v2 string) {
		skipGoModulesUnderRace(t)
		idx := int(set) % len(fuzzRuleSets)
		rules := fuzzRuleSets[idx]
		b := labels.NewBuilder(labels.FromStrings("__name__", "m", "job", "node"))
		b.Set(n1, v1)
		b.Set(n2, v2)
		ls := b.Labels()
		if ls.Validate(func(l labels.Label) error {
			if !model.UTF8Validation.IsValidLabelName(l.Name) || !model.LabelValue(l.Value).IsValid() {
				return fmt.Errorf("invalid")
			}
			return nil
		}) != nil {
			t.Skip()
		}
		want, wantKeep, err := promRelabel(t, rules, ls)
		if err != nil {
			t.Fatal(err)
		}
		c := fuzzChains[idx]
		if c == nil {
			indented := "relabel_configs:\n  " + strings.ReplaceAll(rules, "\n", "\n  ")
			if c, err = NewChain(context.Background(), []config.PluginConfig{stageConf(t, "relabel", "builtin:relabel", indented)}, Options{}); err != nil {
				t.Fatal(err)
			}
			fuzzChains[idx] = c
		}
		bt := batchOf(ls)
		if err := c.Process(context.Background(), bt); err != nil {
			t.Fatal(err)
		}
		gotKeep := len(bt.Series) == 1
		if wantKeep != gotKeep || (wantKeep && !labels.Equal(want, bt.Series[0].Labels)) {
			t.Fatalf("rules %s\ninput %s\nprometheus: keep=%v %s\nplugin: %v", rules, ls, wantKeep, want, seriesStrings(bt))
		}
	})
}
