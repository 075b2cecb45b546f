package host

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"go.yaml.in/yaml/v3"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// stageConf builds a PluginConfig with its config given as YAML text.
func stageConf(t testing.TB, name, module, cfgYAML string) config.PluginConfig {
	t.Helper()
	pc := config.PluginConfig{Name: name, Module: module}
	if cfgYAML != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(cfgYAML), &doc); err != nil {
			t.Fatal(err)
		}
		pc.Config = *doc.Content[0]
	}
	return pc
}

func newTestChain(t testing.TB, reg prometheus.Registerer, stages ...config.PluginConfig) *Chain {
	t.Helper()
	c, err := NewChain(context.Background(), stages, Options{
		Logger: slog.New(slog.NewTextHandler(testLogOut, nil)), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// batchOf makes a batch with one sample per label set.
func batchOf(sets ...labels.Labels) *relay.Batch {
	b := &relay.Batch{Scrape: true, Job: "node", Instance: "a:9100"}
	for i, ls := range sets {
		b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: 1000, V: float64(i)}}})
	}
	return b
}

func seriesStrings(b *relay.Batch) []string {
	var out []string
	for _, s := range b.Series {
		out = append(out, s.Labels.String())
	}
	return out
}

// testLogOut receives chain logs; set EDGERELAY_TEST_LOG=1 to see them.
var testLogOut = func() io.Writer {
	if os.Getenv("EDGERELAY_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}()

// skipGoModulesUnderRace skips tests that compile the Go built-ins when the
// race detector is on: wazero's compiler, instrumented, takes ~30 s per Go
// module. The host's own code runs under -race in the tests using the small
// WAT modules; the built-ins are exercised by the plain run.
func skipGoModulesUnderRace(t testing.TB) {
	t.Helper()
	if raceEnabled {
		t.Skip("compiles Go wasm modules: too slow under -race; run without -race")
	}
}
