package host

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// TestSumbyExample runs the stream example wasm-examples/sumby, built with
// the C SDK and with the Go SDK, and builtin:aggregate's sum with the same
// window, grouping and match, over the same 12 minutes of input (two jobs,
// three series each, 15 s apart; one job stops after 5 minutes, all stop for
// two and a half, a metric not matched): the three must emit the same series with the same samples,
// staleness markers included, and with keep_input false keep only what is
// not summed.
func TestSumbyExample(t *testing.T) {
	modules := map[string]string{"aggregate": "builtin:aggregate"}
	cfg := map[string]string{"aggregate": `{interval: 1m, by: [job], outputs: [sum], delay: 10s, keep_input: false, match: ['{__name__=~"req_.*"}']}`}
	dir := t.TempDir()
	if !raceEnabled { // too slow to compile a Go module under -race, as in TestABISuite
		modules["go"] = filepath.Join(dir, "sumby-go.wasm")
		goBuildWasm(t, "../../wasm-examples/sumby/go", modules["go"])
	}
	modules["c"] = filepath.Join(dir, "sumby-c.wasm")
	clangBuildWasm(t, cWasmCompiler(t), modules["c"], "../../wasm-examples/sumby/sumby.c")
	out := map[string][]string{}
	for name, module := range modules {
		c := cfg[name]
		if c == "" {
			c = `{prefix: req_, by: job, interval: 1m, delay: 10s, keep_input: false}`
		}
		pc := stageConf(t, name, module, c)
		if name != "aggregate" { // a deadline the load of a test machine never meets
			pc = abiStage(t, name, module, c, "fail_closed")
		}
		chain := newTestChain(t, nil, pc)
		out[name] = sumbyRun(t, chain)
	}
	want := out["aggregate"]
	if len(want) < 15 || !slices.ContainsFunc(want, func(s string) bool { return strings.HasSuffix(s, " stale") }) {
		t.Fatalf("builtin:aggregate emitted %d samples, no staleness marker:\n%s", len(want), strings.Join(want, "\n"))
	}
	t.Logf("%d samples out of each, e.g. %s", len(want), want[len(want)/2])
	for name, got := range out {
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n%s\nbuiltin:aggregate:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// sumbyRun feeds the input to c, one batch per 15 s, and returns what
// leaves the stage as sorted lines "labels t value".
func sumbyRun(t *testing.T, c *Chain) []string {
	var lines []string
	for ts := int64(15_000); ts <= 720_000; ts += 15_000 {
		if ts > 405_000 && ts < 555_000 { // a gap: a window goes empty while a later one is open
			continue
		}
		b := &relay.Batch{}
		for _, job := range []string{"a", "b"} {
			if job == "b" && ts > 300_000 {
				continue
			}
			for i := range 3 {
				v := float64(ts/1000)*float64(i+1) + 0.25
				b.Series = append(b.Series, relay.Series{Labels: labels.FromStrings("__name__", "req_total", "job", job, "i", fmt.Sprint(i)),
					Samples: []relay.Sample{{T: ts, V: v}}})
			}
		}
		b.Series = append(b.Series, relay.Series{Labels: labels.FromStrings("__name__", "up", "job", "a"), Samples: []relay.Sample{{T: ts, V: 1}}})
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		for _, s := range b.Series {
			for _, p := range s.Samples {
				v := fmt.Sprint(p.V)
				if value.IsStaleNaN(p.V) {
					v = "stale"
				} else if math.IsNaN(p.V) {
					v = "NaN"
				}
				lines = append(lines, fmt.Sprintf("%s %d %s", s.Labels, p.T, v))
			}
		}
	}
	slices.Sort(lines)
	return lines
}
