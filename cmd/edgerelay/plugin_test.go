package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

const pluginTestScrape = `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 12.25 1700000000000
up{instance="h1:9100",job="node"} 1
`

// skipBuiltinUnderRace skips cases loading a Go built-in under -race:
// wazero's compiler, instrumented, takes ~30 s per Go module.
func skipBuiltinUnderRace(t *testing.T, module string) {
	if raceEnabled && strings.HasPrefix(module, "builtin:") && module != "builtin:nope" {
		t.Skip("compiles a Go wasm module: too slow under -race")
	}
}

// runPluginCLI runs `edgerelay plugin args...` and returns its stdout.
func runPluginCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{Name: "edgerelay", Commands: []*cli.Command{pluginCommand()}, Writer: &out, ErrWriter: &errOut}
	err := app.RunContext(context.Background(), append([]string{"edgerelay", "plugin"}, args...))
	return out.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPluginTestCommand(t *testing.T) {
	input := writeFile(t, "scrape.txt", pluginTestScrape)
	filterCfg := writeFile(t, "filter.yaml", "drop: ['{__name__=~\"go_.*\"}']\n")
	relabelCfg := writeFile(t, "relabel.yaml", "relabel_configs:\n  - {source_labels: [mode], target_label: m}\n")
	stripCfg := writeFile(t, "strip.yaml", "prefix: node_\nstrip: true\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"filter shows dropped", []string{"--plugin", "builtin:filter", "--config", filterCfg, "--show-dropped"},
			`# dropped: go_goroutines
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 12.25 1700000000000
up{instance="h1:9100",job="node"} 1
`},
		{"filter hides dropped", []string{"--plugin", "builtin:filter", "--config", filterCfg},
			`node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 12.25 1700000000000
up{instance="h1:9100",job="node"} 1
`},
		{"relabel", []string{"--plugin", "builtin:relabel", "--config", relabelCfg},
			`go_goroutines 42
node_cpu_seconds_total{cpu="0",m="idle",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",m="user",mode="user"} 12.25 1700000000000
up{instance="h1:9100",job="node"} 1
`},
		{"C plugin from a file", []string{"--plugin", "../../wasm-examples/dropprefix/dropprefix.wasm", "--show-dropped"},
			`# dropped: go_goroutines
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 12.25 1700000000000
up{instance="h1:9100",job="node"} 1
`},
		{"C plugin relabels", []string{"--plugin", "../../wasm-examples/dropprefix/dropprefix.wasm", "--config", stripCfg},
			`go_goroutines 42
cpu_seconds_total{cpu="0",mode="idle"} 1234.5
cpu_seconds_total{cpu="0",mode="user"} 12.25 1700000000000
up{instance="h1:9100",job="node"} 1
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			skipBuiltinUnderRace(t, tc.args[1])
			got, err := runPluginCLI(t, append([]string{"test", "--input", input}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestPluginTestCommandErrors(t *testing.T) {
	input := writeFile(t, "scrape.txt", pluginTestScrape)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no such module", []string{"test", "--plugin", "builtin:nope", "--input", input}, "no built-in module"},
		{"bad plugin config", []string{"test", "--plugin", "builtin:anonymize", "--input", input, "--config", writeFile(t, "c.yaml", "labels: [a]\n")}, "key"},
		{"bad input", []string{"test", "--plugin", "builtin:filter", "--input", writeFile(t, "bad.txt", "not a {scrape\n")}, "parse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			skipBuiltinUnderRace(t, tc.args[2])
			_, err := runPluginCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestPluginBenchCommand(t *testing.T) {
	input := writeFile(t, "scrape.txt", pluginTestScrape)
	got, err := runPluginCLI(t, "bench", "--plugin", "../../wasm-examples/dropprefix/dropprefix.wasm", "--input", input, "--duration", "50ms")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^ns/sample=[0-9.]+ ns/new-series=[0-9.]+ pages=[0-9]+$`).MatchString(last) {
		t.Fatalf("last line %q does not match the documented format", last)
	}
}

// TestPluginTestNodeExporterCapture: a node_exporter scrape with empty
// label values (model="", ifalias="", ...) passes builtin:relabel with
// fail_closed: the empty values are dropped first, as a scrape drops them.
func TestPluginTestNodeExporterCapture(t *testing.T) {
	skipBuiltinUnderRace(t, "builtin:relabel")
	input := "../../relay/ingest/testdata/scrape/node_exporter.prom"
	raw, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `model=""`) {
		t.Fatal("the capture lost its empty label values")
	}
	cfg := writeFile(t, "relabel.yaml", "relabel_configs:\n  - {source_labels: [device], target_label: dev}\n")
	got, err := runPluginCLI(t, "test", "--plugin", "builtin:relabel", "--config", cfg, "--input", input)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`node_disk_info{dev="vda",device="vda",major="254",minor="0"} 1` + "\n",
		`node_network_info{address="00:00:00:00:00:00",broadcast="00:00:00:00:00:00",dev="lo",device="lo",operstate="unknown"} 1` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `=""`) {
		t.Errorf("an empty label value came out:\n%s", got)
	}
}

// TestPluginTestUnderAJob: with --edge-config and --job the input is parsed
// under that job's settings, as its scrape would be: metric_relabel_configs
// drop a series, honor_timestamps: false gives every sample the scrape's
// time.
func TestPluginTestUnderAJob(t *testing.T) {
	input := writeFile(t, "scrape.txt", pluginTestScrape)
	edgeCfg := writeFile(t, "edge.yaml", `edge:
  tenant: acme
  site: s1
  upstream: {address: 127.0.0.1:4433}
  scrape_configs:
    - job_name: node
      honor_timestamps: false
      metric_relabel_configs: [{source_labels: [mode], regex: user, action: drop}]
      static_configs: [{targets: ['127.0.0.1:9100']}]
`)
	got, err := runPluginCLI(t, "test", "--plugin", "../../wasm-examples/dropprefix/dropprefix.wasm", "--input", input,
		"--edge-config", edgeCfg, "--job", "node")
	if err != nil {
		t.Fatal(err)
	}
	want := `node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
up{instance="h1:9100",job="node"} 1
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, args := range [][]string{{"--job", "node"}, {"--edge-config", edgeCfg, "--job", "nope"}} {
		_, err := runPluginCLI(t, append([]string{"test", "--plugin", "../../wasm-examples/dropprefix/dropprefix.wasm", "--input", input}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("%v: err = %v", args, err)
		}
	}
}
