package host

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/builtin"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// newBoundChain is newTestChain with the untrusted modules' CPU bound chosen.
func newBoundChain(t testing.TB, bound cpuBound, stages ...config.PluginConfig) *Chain {
	t.Helper()
	c, err := NewChain(context.Background(), stages, Options{
		Logger: slog.New(slog.NewTextHandler(testLogOut, nil)), cpuBound: bound,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// TestFuelStopsInfiniteLoop runs loop.wasm, which never returns, under
// fuel instrumentation alone (no WithCloseOnContextDone): the call ends as
// a timeout, the instance is rebuilt and the next call is stopped too.
func TestFuelStopsInfiniteLoop(t *testing.T) {
	pc := stageConf(t, "loop", "testdata/loop.wasm", "")
	pc.OnError = "fail_closed"
	pc.Limits.Timeout = 20 * time.Millisecond
	c := newBoundChain(t, boundFuel, pc)
	if c.series[0].bound != boundFuel || c.series[0].trusted {
		t.Fatalf("stage bound %v, trusted %v; want fuel on an untrusted module", c.series[0].bound, c.series[0].trusted)
	}
	for i := range 2 {
		done := make(chan error, 1)
		go func() { done <- c.Process(context.Background(), batchOf(labels.FromStrings("__name__", "up"))) }()
		select {
		case err := <-done:
			var ce *callError
			if !errors.Is(err, ErrHeld) || !errors.As(err, &ce) || ce.kind != "timeout" || !errors.Is(err, errOutOfTime) {
				t.Fatalf("call %d: err %v; want a held batch after a fuel timeout", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("call %d: the infinite loop was not stopped", i)
		}
	}
	if got := testutil.ToFloat64(c.m.errors.WithLabelValues("loop", "timeout")); got != 2 {
		t.Errorf("errors_total{kind=timeout} = %v; want 2", got)
	}
}

// TestFuelSameOutput checks that instrumented modules compute what the
// uninstrumented ones do: the Go built-ins loaded from files (fuel) against
// the same built-ins run trusted, and the C and WAT modules under fuel
// against WithCloseOnContextDone.
func TestFuelSameOutput(t *testing.T) {
	in := nodeScrape(3000, 1)
	run := func(c *Chain) ([]string, []relay.Sample) {
		b := &relay.Batch{Scrape: true, Job: "node", Instance: "a:9100", Series: slices.Clone(in)}
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		var smpl []relay.Sample
		for _, s := range b.Series {
			smpl = append(smpl, s.Samples...)
		}
		return seriesStrings(b), smpl
	}
	compare := func(t *testing.T, want, got *Chain) {
		ws, wv := run(want)
		gs, gv := run(got)
		if len(ws) == 0 {
			t.Fatal("the reference chain dropped everything; the comparison would prove nothing")
		}
		if !slices.Equal(ws, gs) || !slices.Equal(wv, gv) {
			t.Fatalf("instrumented output differs: %d series vs %d\nfirst want %q\nfirst got  %q", len(ws), len(gs), ws[:1], gs[:min(1, len(gs))])
		}
	}
	t.Run("go built-ins", func(t *testing.T) {
		skipGoModulesUnderRace(t)
		compare(t, newBoundChain(t, boundFuel, benchStages(t, "")...), newBoundChain(t, boundFuel, benchStages(t, t.TempDir())...))
	})
	t.Run("c and wat", func(t *testing.T) {
		stages := []config.PluginConfig{
			stageConf(t, "dropprefix", "../../wasm-examples/dropprefix/dropprefix.wasm", `{prefix: node_network_}`),
			stageConf(t, "passthrough", "testdata/passthrough.wasm", ""),
			stageConf(t, "echo", "testdata/echosamples.wasm", ""),
		}
		compare(t, newBoundChain(t, boundCloseOnDone, stages...), newBoundChain(t, boundFuel, stages...))
	})
}

// TestFuelInstrumentsBuiltins checks every built-in instruments and loads
// as an untrusted file module (a tenant may ship the same code).
func TestFuelInstrumentsBuiltins(t *testing.T) {
	skipGoModulesUnderRace(t)
	dir := t.TempDir()
	for _, name := range builtin.Names() {
		b, _ := builtin.Lookup(name)
		p := filepath.Join(dir, name+".wasm")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		pc := stageConf(t, name, p, "")
		if name == "anonymize" {
			pc = stageConf(t, name, p, `{labels: [a], key: k}`)
		}
		c, err := NewChain(context.Background(), []config.PluginConfig{pc}, Options{Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c.Close(context.Background())
	}
}
