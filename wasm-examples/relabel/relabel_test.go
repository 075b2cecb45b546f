package main

import (
	"strings"
	"testing"

	"github.com/edgerelay/edgerelay/sdk"
)

// Equivalence with Prometheus' model/relabel, through the real module in
// wazero, is tested in plugins/host/relabel_test.go; these are native checks.
func TestConfigure(t *testing.T) {
	cases := map[string]string{
		`{"relabel_configs":[{"action":"explode"}]}`:                                        "unknown relabel action",
		`{"relabel_configs":[{"source_labels":["a"]}]}`:                                     "target_label",
		`{"relabel_configs":[{"action":"hashmod","target_label":"s"}]}`:                     "modulus",
		`{"relabel_configs":[{"regex":"(","target_label":"s"}]}`:                            "regex",
		`{"relabel_configs":[{"action":"labeldrop","regex":"a","target_label":"x"}]}`:       "only 'regex'",
		`{"relabel_config":[]}`:                                                             "unknown field",
		`{"relabel_configs":[{"action":"lowercase","target_label":"x","replacement":"y"}]}`: "replacement",
	}
	for cfg, want := range cases {
		if err := configure([]byte(cfg)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("configure(%s) = %v; want an error about %q", cfg, err, want)
		}
	}
}

func TestProcess(t *testing.T) {
	// YAML may type a replacement as a number: it is still a string.
	if err := configure([]byte(`{"relabel_configs":[{"target_label":"n","replacement":7},{"source_labels":["drop"],"regex":"yes","action":"drop"}]}`)); err != nil {
		t.Fatal(err)
	}
	out, keep := process(sdk.FromStrings("__name__", "up"))
	if !keep || out.String() != `{__name__="up", n="7"}` {
		t.Fatalf("got %s %v", out, keep)
	}
	if _, keep := process(sdk.FromStrings("__name__", "up", "drop", "yes")); keep {
		t.Fatal("not dropped")
	}
}
