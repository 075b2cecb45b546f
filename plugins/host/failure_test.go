package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/config"
)

// TestHostileModules checks each misbehaving module is contained: the call
// fails with the right kind, the batch follows on_error, the instance is
// rebuilt and the chain keeps serving.
func TestHostileModules(t *testing.T) {
	cases := []struct {
		module string
		kind   string
	}{
		{"loop", "timeout"},
		{"trap", "trap"},
		{"membomb", "oom"},
		{"gooom", "oom"}, // a Go runtime's cause comes before a long goroutine dump
		{"outofrange", "output"},
		{"badcount", "output"},
		{"badname", "output"},
		{"huge", "output"},
	}
	for _, tc := range cases {
		for _, policy := range []string{"fail_open", "fail_closed"} {
			t.Run(tc.module+"/"+policy, func(t *testing.T) {
				reg := prometheus.NewRegistry()
				pc := stageConf(t, tc.module, "testdata/"+tc.module+".wasm", "")
				pc.OnError = policy
				// Only the loop should meet its deadline: the others get a
				// generous one, as growing memory is slow under -race.
				pc.Limits = config.PluginLimits{Timeout: 2 * time.Second, MemoryPages: 64}
				switch tc.module {
				case "loop":
					pc.Limits.Timeout = 50 * time.Millisecond
				case "huge":
					pc.Limits.MemoryPages = 256
				}
				c := newTestChain(t, reg, pc)
				in := labels.FromStrings("__name__", "up", "job", "node")
				for i := range 2 { // a second batch shows the rebuilt instance is called again
					b := batchOf(in)
					start := time.Now()
					err := c.Process(context.Background(), b)
					if took := time.Since(start); took > 2*time.Second {
						t.Errorf("Process took %s", took)
					}
					switch policy {
					case "fail_open":
						if err != nil || len(b.Series) != 1 || !labels.Equal(b.Series[0].Labels, in) {
							t.Fatalf("batch %d: err %v, series %v; want the batch passed on unchanged", i, err, seriesStrings(b))
						}
					case "fail_closed":
						if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), tc.module) {
							t.Fatalf("batch %d: err %v; want ErrHeld naming the plugin", i, err)
						}
						if len(b.Series) != 1 || !labels.Equal(b.Series[0].Labels, in) {
							t.Fatalf("batch %d: held batch was changed: %v", i, seriesStrings(b))
						}
					}
				}
				if got := testutil.ToFloat64(c.m.errors.WithLabelValues(tc.module, tc.kind)); got != 2 {
					t.Errorf("errors_total{kind=%q} = %v; want 2", tc.kind, got)
				}
				if got := testutil.ToFloat64(c.m.calls.WithLabelValues(tc.module)); got != 2 {
					t.Errorf("calls_total = %v; want 2 (failed answers are not memoised)", got)
				}
			})
		}
	}
}

func TestQuarantine(t *testing.T) {
	for _, policy := range []string{"fail_open", "fail_closed"} {
		t.Run(policy, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			pc := stageConf(t, "bad", "testdata/trap.wasm", "")
			pc.OnError = policy
			c := newTestChain(t, reg, pc, stageConf(t, "good", "testdata/passthrough.wasm", ""))
			for i := range QuarantineAfter + 3 {
				b := batchOf(labels.FromStrings("__name__", "up", "n", fmt.Sprint(i)))
				err := c.Process(context.Background(), b)
				if (policy == "fail_closed") != errors.Is(err, ErrHeld) {
					t.Fatalf("batch %d: err %v", i, err)
				}
			}
			if got := testutil.ToFloat64(c.m.calls.WithLabelValues("bad")); got != QuarantineAfter {
				t.Errorf("calls into the quarantined stage = %v; want %d", got, QuarantineAfter)
			}
			if got := testutil.ToFloat64(c.m.quarantined.WithLabelValues("bad")); got != 1 {
				t.Errorf("edgerelay_plugin_quarantined = %v; want 1", got)
			}
			if got := testutil.ToFloat64(c.m.errors.WithLabelValues("bad", "quarantined")); got != 3 {
				t.Errorf("errors_total{kind=quarantined} = %v; want 3", got)
			}
			if _, q := c.Stages(); !q[0] || q[1] {
				t.Errorf("Stages quarantined = %v; want [true false]", q)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		pc   config.PluginConfig
		want string
	}{
		{"missing import", config.PluginConfig{Name: "thief", Module: "testdata/missingimport.wasm"}, "thief"},
		{"no such file", config.PluginConfig{Module: "testdata/nope.wasm"}, "testdata/nope.wasm"},
		{"no such builtin", config.PluginConfig{Module: "builtin:nope"}, "no built-in module"},
		{"not wasm", config.PluginConfig{Name: "txt", Module: "testdata/trap.wat"}, "compile"},
		{"bad on_error", config.PluginConfig{Name: "p", Module: "testdata/passthrough.wasm", OnError: "maybe"}, "on_error"},
		{"bad plugin config", stageConf(t, "rl", "builtin:relabel", `{relabel_configs: [{action: explode}]}`), "explode"},
		{"unknown config field", stageConf(t, "an", "builtin:anonymize", `{key: k, labels: [a], colour: red}`), "colour"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.pc.Module, "builtin:") && tc.name != "no such builtin" {
				skipGoModulesUnderRace(t)
			}
			_, err := NewChain(context.Background(), []config.PluginConfig{tc.pc}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewChain error = %v; want one mentioning %q", err, tc.want)
			}
		})
	}
}
