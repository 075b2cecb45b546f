package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

// runBinary runs the binary to its end (at most two minutes) and returns
// its stderr and exit code.
func runBinary(t *testing.T, bin string, args ...string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within 2 minutes; stderr:\n%s", strings.Join(args, " "), errOut.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return errOut.String(), ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return errOut.String(), 0
}

// problemLines returns the lines of stderr that are not log records.
func problemLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" && !strings.HasPrefix(l, "time=") {
			out = append(out, l)
		}
	}
	return out
}

// TestCheckConfigRefusesWhatRunRefuses: every configuration below is
// refused by `check-config` and by `run`, through the real binary, with
// the same lines, each naming the field at fault; run starts nothing.
func TestCheckConfigRefusesWhatRunRefuses(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if err := tlsutil.WriteBundle(pki, nil, "acme", "s1"); err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emptyToken := file("empty.token", "\n")
	notPEM := file("not.pem", "hello\n")
	notWasm := file("not.wasm", "hello\n")
	aFile := file("a-file", "x")
	badSD := file("sd/bad.json", `[{"targets": "not a list"}]`)
	dropprefix, _ := filepath.Abs("../../wasm-examples/dropprefix/dropprefix.wasm")
	echo, _ := filepath.Abs("../../plugins/host/testdata/echosamples.wasm")
	missing := filepath.Join(dir, "missing")

	edge := func(extra string) string {
		return fmt.Sprintf(`edge:
  tenant: acme
  site: s1
  data_dir: %s/edge
  http_listen: %s
  upstream:
    address: %s
    insecure_skip_verify: true
%s`, dir, freePort(t, "tcp"), freePort(t, "udp"), extra)
	}
	cloud := func(extra string) string {
		return fmt.Sprintf(`cloud:
  quic_listen: %s
  http_listen: %s
  data_dir: %s/cloud
  files_dir: %s/files
%s`, freePort(t, "udp"), freePort(t, "tcp"), dir, dir, extra)
	}
	plugin := func(lines string) string { return "  plugins:\n    - " + lines + "\n" }

	cases := []struct {
		name    string
		config  string
		want    []string
		builtin bool // compiles a Go built-in: too slow under -race
	}{
		{"missing .wasm file", edge(plugin("module: " + missing + ".wasm")),
			[]string{"edge.plugins[0].module: read module: open " + missing + ".wasm: no such file or directory"}, false},
		{"not a wasm module", edge(plugin("module: " + notWasm)), []string{"edge.plugins[0].module: compile module"}, false},
		{"bogus clock", edge(plugin("{module: " + dropprefix + ", clock: bogus}")),
			[]string{`edge.plugins[0].clock must be fake or real; got "bogus"`}, false},
		{"memory_pages below the module's", edge(plugin("{module: " + echo + ", limits: {memory_pages: 1}}")),
			[]string{"edge.plugins[0].limits.memory_pages: the module's memory starts at 4 pages, above the limit of 1"}, false},
		{"memory_pages above 4 GiB", edge(plugin("{module: " + echo + ", limits: {memory_pages: 70000}}")),
			[]string{"edge.plugins[0].limits.memory_pages must be at most 65536"}, false},
		{"timeout on a built-in", edge(plugin("{module: builtin:filter, limits: {timeout: 50ms}}")),
			[]string{"edge.plugins[0].limits.timeout does not apply to builtin:filter: built-in modules run without a deadline"}, false},
		{"negative timeout", edge(plugin("{module: " + echo + ", limits: {timeout: -1s}}")),
			[]string{"edge.plugins[0].limits.timeout must be >= 0"}, false},
		{"series-level after sample-level", edge("  plugins:\n    - module: " + echo + "\n    - module: " + dropprefix + "\n"),
			[]string{"edge.plugins: plugin stage 1 (" + dropprefix + ") is series-level but follows sample-level stage"}, false},
		{"plugin config the plugin refuses", edge(plugin("{module: builtin:filter, config: {dorp: []}}")),
			[]string{`edge.plugins[0].config: init: guest: plugin reported: decode config: json: unknown field "dorp"`}, true},
		{"upstream ca_file missing", strings.Replace(edge(""), "insecure_skip_verify: true", "ca_file: "+missing, 1),
			[]string{"edge.upstream.ca_file: read"}, false},
		{"upstream ca_file not PEM", strings.Replace(edge(""), "insecure_skip_verify: true", "ca_file: "+notPEM, 1),
			[]string{"edge.upstream.ca_file: no PEM certificate in"}, false},
		{"upstream cert_file missing", strings.Replace(edge(""), "insecure_skip_verify: true",
			fmt.Sprintf("cert_file: %s\n    key_file: %s/edge-key.pem", missing, pki), 1),
			[]string{"edge.upstream.cert_file: stat " + missing}, false},
		{"upstream key does not match", strings.Replace(edge(""), "insecure_skip_verify: true",
			fmt.Sprintf("cert_file: %s/edge.pem\n    key_file: %s/cloud-key.pem", pki, pki), 1),
			[]string{"edge.upstream.cert_file and key_file: load"}, false},
		{"upstream token_file missing", strings.Replace(edge(""), "insecure_skip_verify: true", "insecure_skip_verify: true\n    token_file: "+missing, 1),
			[]string{"edge.upstream.token_file: open " + missing}, false},
		{"upstream token_file empty", strings.Replace(edge(""), "insecure_skip_verify: true", "insecure_skip_verify: true\n    token_file: "+emptyToken, 1),
			[]string{"edge.upstream.token_file " + emptyToken + " is empty"}, false},
		{"edge web_config_file missing", edge("  web_config_file: " + missing + "\n"), []string{"edge.web_config_file " + missing}, false},
		{"cloud web_config_file not YAML", cloud("  web_config_file: " + notPEM + "\n"), []string{"cloud.web_config_file " + notPEM}, false},
		{"data_dir is a file", strings.Replace(edge(""), dir+"/edge", aFile, 1), []string{"edge.data_dir \"" + aFile + "\" is not a directory"}, false},
		{"scrape tls_config ca_file missing", edge("  scrape_configs:\n    - {job_name: a, tls_config: {ca_file: " + missing + "}, static_configs: [{targets: ['x:1']}]}\n"),
			[]string{`edge.scrape_configs[0] (job "a"): unable to read CA cert`}, false},
		{"scrape_failure_log_file", edge("  scrape_configs:\n    - {job_name: a, scrape_failure_log_file: /tmp/x.log}\n"),
			[]string{"edge.scrape_configs[0].scrape_failure_log_file is not supported by edgerelay"}, false},
		{"file_sd file unreadable as targets", edge("  scrape_configs:\n    - {job_name: a, file_sd_configs: [{files: ['" + filepath.Join(dir, "sd", "*.json") + "']}]}\n"),
			[]string{`edge.scrape_configs[0] (job "a").file_sd_configs[0]: ` + badSD}, false},
		{"cloud cert_file missing", cloud(fmt.Sprintf("  cert_file: %s\n  key_file: %s/cloud-key.pem\n", missing, pki)),
			[]string{"cloud.cert_file: stat " + missing}, false},
		{"notify exec command missing", cloud("  notify:\n    exec: {command: " + missing + "}\n"),
			[]string{"cloud.notify.exec.command: exec: \"" + missing + "\""}, false},
		{"cloud client_ca_file not PEM", cloud("  client_ca_file: " + notPEM + "\n"), []string{"cloud.client_ca_file: no PEM certificate in"}, false},
		{"cloud files_dir under a file", strings.Replace(cloud(""), dir+"/files", aFile+"/files", 1),
			[]string{"cloud.files_dir \"" + aFile + "/files\" cannot be made"}, false},
		{"tenant token_file missing", cloud(fmt.Sprintf("  tenants:\n    - {name: a, token_file: %s}\n", missing)),
			[]string{"cloud.tenants[0].token_file: open " + missing}, false},
		{"tenant token_file empty", cloud(fmt.Sprintf("  tenants:\n    - {name: a, token_file: %s}\n", emptyToken)),
			[]string{"cloud.tenants[0].token_file: " + emptyToken + " is empty"}, false},
		{"tenant twice", cloud(fmt.Sprintf("  tenants:\n    - {name: a, token_file: %s}\n    - {name: a, token_file: %s}\n", notPEM, notPEM)),
			[]string{`cloud.tenants[1].name "a" appears twice`}, false},
		{"chain token_file missing", cloud("  chain: {address: 127.0.0.1:1, name: r, insecure_skip_verify: true, token_file: " + missing + "}\n"),
			[]string{"cloud.chain.token_file: open " + missing}, false},
		{"chain ca_file not PEM", cloud("  chain: {address: 127.0.0.1:1, name: r, ca_file: " + notPEM + "}\n"),
			[]string{"cloud.chain.ca_file: no PEM certificate in"}, false},
		{"remote_write keys edgerelay does not implement", cloud("  remote_write:\n    - url: http://127.0.0.1:1/w\n      protobuf_message: io.prometheus.write.v2.Request\n      queue_config: {capacity: 10}\n      round_robin_dns: true\n"),
			[]string{"cloud.remote_write[0].protobuf_message is not supported by edgerelay", "cloud.remote_write[0].round_robin_dns is not supported"}, false},
		{"remote_write sigv4 in the default build", cloud("  remote_write:\n    - url: http://127.0.0.1:1/w\n      sigv4: {region: eu-west-1}\n      queue_config: {capacity: -1}\n"),
			[]string{"cloud.remote_write[0].sigv4 needs edgerelay's full build", "remote write queue capacity must be positive"}, false},
		{"remote_write tls ca_file missing", cloud("  remote_write:\n    - url: http://127.0.0.1:1/w\n      tls_config: {ca_file: " + missing + "}\n"),
			[]string{"cloud.remote_write[0]: remote_write http://127.0.0.1:1/w: unable to read CA cert"}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.builtin && raceEnabled {
				t.Skip("compiles a Go wasm module: too slow under -race")
			}
			path := file(fmt.Sprintf("case%d.yaml", i), tc.config)
			checkErr, code := runBinary(t, bin, "check-config", path)
			if code != 1 {
				t.Fatalf("check-config exit %d, want 1; stderr:\n%s", code, checkErr)
			}
			runErr, code := runBinary(t, bin, "run", "--config", path)
			if code != 1 {
				t.Fatalf("run exit %d, want 1; stderr:\n%s", code, runErr)
			}
			checkLines, runLines := problemLines(checkErr), problemLines(runErr)
			if strings.Join(checkLines, "\n") != strings.Join(runLines, "\n") {
				t.Fatalf("check-config and run disagree:\ncheck-config:\n%s\nrun:\n%s", checkErr, runErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(checkErr, w) {
					t.Errorf("output lacks %q:\n%s", w, checkErr)
				}
			}
			if len(checkLines) < len(tc.want) {
				t.Errorf("want one line per problem (%d), got:\n%s", len(tc.want), checkErr)
			}
		})
	}
}

// TestGoodConfigsRun: every example and testdata configuration that is
// meant to be good passes check-config as it is, and run starts it (its
// listeners and directories moved to free ports and a temporary directory)
// until it is ready, then stops cleanly on SIGTERM.
func TestGoodConfigsRun(t *testing.T) {
	bin := buildBinary(t)
	files, _ := filepath.Glob("../../configs/*.yaml")
	good, _ := filepath.Glob("../../relay/config/testdata/*.good.yaml")
	files = append(files, good...)
	if len(files) < 4 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if raceEnabled && strings.Contains(string(raw), "builtin:") {
				t.Skip("compiles a Go wasm module: too slow under -race")
			}
			stderr, code := runBinary(t, bin, "check-config", f)
			if code != 0 {
				t.Fatalf("check-config refused %s:\n%s", f, stderr)
			}
			path, ready := relocate(t, raw)
			p := start(t, bin, "run", "--config", path)
			for _, u := range ready {
				waitFor(t, u, 2*time.Minute, func() bool { code, _ := httpGet(u); return code == 200 })
			}
			p.stop(t)
		})
	}
}

// relocate writes a copy of the configuration raw with its listeners on
// free loopback ports and its directories in a temporary one, the edge
// pointed at the copy's cloud (or at nothing); it returns the copy's path
// and the /-/ready URLs of its roles.
func relocate(t *testing.T, raw []byte) (string, []string) {
	t.Helper()
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var ready []string
	upstream := freePort(t, "udp")
	if c := doc["cloud"]; c != nil {
		c["quic_listen"], c["http_listen"] = upstream, freePort(t, "tcp")
		c["data_dir"], c["files_dir"] = filepath.Join(dir, "cloud"), filepath.Join(dir, "files")
		ready = append(ready, "http://"+c["http_listen"].(string)+"/-/ready")
	}
	if e := doc["edge"]; e != nil {
		e["http_listen"], e["data_dir"] = freePort(t, "tcp"), filepath.Join(dir, "edge")
		if up, _ := e["upstream"].(map[string]any); up != nil {
			up["address"] = upstream
		} else if ups, _ := e["upstreams"].([]any); len(ups) > 0 {
			for _, u := range ups {
				u.(map[string]any)["address"] = upstream
			}
		} else {
			t.Fatal("edge without upstream or upstreams")
		}
		ready = append(ready, "http://"+e["http_listen"].(string)+"/-/ready")
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ready
}
