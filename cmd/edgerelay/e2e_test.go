package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// The end-to-end tests run the real binary: a cloud and an edge as two
// processes on loopback, a synthetic target and a remote_write client.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildTags are the tags the tests build the binary with: the Makefile's
// BUILD_TAGS, which make build, make dist and bench/ use too.
const buildTags = "urfave_cli_no_docs"

// buildBinary builds the binary once per test run, with buildTags.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test builds the binary; skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "edgerelay-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "edgerelay")
		args := []string{"build", "-tags", buildTags, "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freePort(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one edgerelay process.
type proc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{} // closed when the process exited; err is set then
	err  error
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = lockedWriter{p.mu, p.logs}
	p.cmd.Stderr = lockedWriter{p.mu, p.logs}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s logs:\n%s", strings.Join(args, " "), p.logs.String())
			p.mu.Unlock()
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.stopWith(t, syscall.SIGTERM)
}

// stopWith sends sig and waits for a clean exit.
func (p *proc) stopWith(t *testing.T, sig os.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after %v: %v", sig, p.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit within 20s of %v", sig)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type e2eEnv struct {
	bin                     string
	dir                     string
	edgeHTTP, cloudHTTP     string
	quic                    string
	target                  *synth.Target
	targetAddr              string
	edgeConfig, cloudConfig string
}

// e2eFilter is a plugin chain for newEnv: the built-in filter dropping one
// series of the synthetic target.
const e2eFilter = `  plugins:
    - name: drop-sum
      module: builtin:filter
      config:
        drop: ['synth_request_duration_seconds_sum']
`

// newEnv writes configs for a cloud and an edge scraping a synthetic
// target; plugins is the edge's plugins: section, or "".
func newEnv(t *testing.T, plugins ...string) *e2eEnv {
	var o envOptions
	if len(plugins) > 0 {
		o.edge = plugins[0]
	}
	return newEnvWith(t, o)
}

// envOptions change the configs newEnvWith writes; the zero value writes
// newEnv's.
type envOptions struct {
	// scrape is the edge's scrape_configs entries (jobYAML writes one);
	// "" scrapes a synthetic target every 500ms as job synth, labelled
	// env: test.
	scrape string
	// noScrape leaves the edge without scrape_configs: it only receives
	// remote_write.
	noScrape bool
	// edge and cloud are more lines of the edge's and the cloud's
	// sections, indented by two spaces: plugins:, remote_write:, ...
	edge, cloud string
	// maxBackoff is the uplink's max_backoff; "" means 1s.
	maxBackoff string
}

// newEnvWith writes configs for a cloud and an edge of tenant acme, site
// plant-7, the edge connecting to the cloud, each with its data under
// env.dir (cloud, edge, and the cloud's files in files).
func newEnvWith(t *testing.T, o envOptions) *e2eEnv {
	env := &e2eEnv{bin: buildBinary(t), dir: t.TempDir()}
	scrape := "  scrape_configs:\n" + o.scrape
	switch {
	case o.noScrape:
		scrape = ""
	case o.scrape == "":
		env.target = &synth.Target{Series: 20}
		ts := httptest.NewServer(env.target)
		t.Cleanup(ts.Close)
		env.targetAddr = strings.TrimPrefix(ts.URL, "http://")
		scrape += fmt.Sprintf(`    - job_name: synth
      scrape_interval: 500ms
      scrape_timeout: 400ms
      static_configs: [{targets: [%q], labels: {env: test}}]
`, env.targetAddr)
	}
	if o.maxBackoff == "" {
		o.maxBackoff = "1s"
	}
	env.edgeHTTP, env.cloudHTTP, env.quic = freePort(t, "tcp"), freePort(t, "tcp"), freePort(t, "udp")
	env.cloudConfig = filepath.Join(env.dir, "cloud.yaml")
	env.edgeConfig = filepath.Join(env.dir, "edge.yaml")
	os.WriteFile(env.cloudConfig, fmt.Appendf(nil, `
cloud:
  quic_listen: %s
  http_listen: %s
  data_dir: %s/cloud
  files_dir: %s/files
%s`, env.quic, env.cloudHTTP, env.dir, env.dir, o.cloud), 0o644)
	os.WriteFile(env.edgeConfig, fmt.Appendf(nil, `
edge:
  tenant: acme
  site: plant-7
  data_dir: %s/edge
  http_listen: %s
%s  upstream:
    address: %s
    server_name: localhost
    insecure_skip_verify: true
    max_backoff: %s
%s`, env.dir, env.edgeHTTP, scrape, env.quic, o.maxBackoff, o.edge), 0o644)
	return env
}

// jobYAML is one entry of envOptions.scrape: job scrapes target
// (host:port) every interval within timeout; extra are more lines of the
// job ("scrape_native_histograms: true").
func jobYAML(job, target, interval, timeout string, extra ...string) string {
	s := fmt.Sprintf(`    - job_name: %s
      scrape_interval: %s
      scrape_timeout: %s
      static_configs: [{targets: [%q]}]
`, job, interval, timeout, target)
	for _, e := range extra {
		s += "      " + e + "\n"
	}
	return s
}

func TestEndToEnd(t *testing.T) {
	env := newEnv(t, e2eFilter)
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)

	// Under the race detector the first compilation of a built-in plugin
	// takes tens of seconds.
	for _, u := range []string{"http://" + env.edgeHTTP + "/-/ready", "http://" + env.cloudHTTP + "/-/ready"} {
		waitFor(t, u, 120*time.Second, func() bool { code, _ := httpGet(u); return code == 200 })
	}

	// Scrapes arrive as zstats directories holding exactly what was served.
	files := filepath.Join(env.dir, "files")
	var scrapes []scrapeFile
	waitFor(t, "three scrape directories", 30*time.Second, func() bool {
		scrapes = readScrapes(t, files)
		return len(scrapes) >= 3
	})
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	seen := map[int64]bool{}
	for _, s := range scrapes {
		wantDir := filepath.Join(files, "acme", "plant-7", strings.ReplaceAll(env.targetAddr, ":", "_")+".synth")
		if filepath.Dir(s.dir) != wantDir {
			t.Fatalf("scrape written to %s, want under %s", s.dir, wantDir)
		}
		if s.meta["account"] != "acme" || s.meta["iid"] != env.targetAddr || s.meta["is_compressed"] != true {
			t.Fatalf("%s: metadata %v", s.dir, s.meta)
		}
		n := expectSynth(t, s.dir, s.samples, identity)
		if seen[n] {
			t.Fatalf("scrape %d written twice", n)
		}
		seen[n] = true
		if up := s.samples[labelsWith(identity, "__name__", "up")]; up != 1 {
			t.Fatalf("%s: up = %v", s.dir, up)
		}
		// The filter plugin dropped exactly this series and nothing else.
		if _, ok := s.samples[labelsWith(identity, "__name__", "synth_request_duration_seconds_sum")]; ok {
			t.Fatalf("%s: series dropped by the filter plugin was written", s.dir)
		}
		if _, ok := s.samples[labelsWith(identity, "__name__", "synth_request_duration_seconds_count")]; !ok {
			t.Fatalf("%s: synth_request_duration_seconds_count missing", s.dir)
		}
	}

	// /federate serves the latest scrape with the identity labels.
	fedURL := "http://" + env.cloudHTTP + `/federate?match[]={job="synth"}`
	code, body := httpGet(fedURL)
	if code != 200 {
		t.Fatalf("federate: %d %s", code, body)
	}
	expectSynth(t, "/federate", parseText(t, []byte(body), nil), identity)
	if _, body := httpGet("http://" + env.cloudHTTP + `/federate?match[]={job="nope"}`); strings.Contains(body, "synth_") {
		t.Fatalf("federate ignored match[]: %s", body)
	}

	// remote_write: acked means it arrives, in files and on /federate.
	sendRemoteWrite(t, "http://"+env.edgeHTTP+"/api/v1/write", 100)
	waitFor(t, "remote_write series on /federate", 20*time.Second, func() bool {
		_, body := httpGet("http://" + env.cloudHTTP + `/federate?match[]={job="rw"}`)
		got := parseText(t, []byte(body), nil)
		for i := 0; i < 100; i++ {
			key := labels.FromStrings("__name__", "rw_numbered", "job", "rw", "instance", "client-1", "n", fmt.Sprint(i), "site", "plant-7", "tenant", "acme").String()
			if got[key] != float64(i)*1.5 {
				return false
			}
		}
		return true
	})
	rwDirs, _ := filepath.Glob(filepath.Join(files, "acme", "plant-7", "client-1.rw", "*", "*.data.gz"))
	if len(rwDirs) == 0 {
		t.Fatal("remote_write batch not written as files under acme/plant-7/client-1.rw")
	}

	// Bad input: a clear 400 and nothing changes.
	resp, err := http.Post("http://"+env.edgeHTTP+"/api/v1/write", "application/x-protobuf", strings.NewReader("not snappy"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("garbage remote_write answered %d, want 400", resp.StatusCode)
	}

	// Own metrics.
	_, em := httpGet("http://" + env.edgeHTTP + "/metrics")
	for _, m := range []string{"edgerelay_ingested_samples_total", "edgerelay_uplink_sent_bytes_total", "edgerelay_queue_blocks", "edgerelay_uplink_sent_samples_total"} {
		if !strings.Contains(em, m) {
			t.Errorf("edge /metrics lacks %s", m)
		}
	}
	_, cm := httpGet("http://" + env.cloudHTTP + "/metrics")
	if !strings.Contains(cm, "edgerelay_received_samples_total") {
		t.Errorf("cloud /metrics lacks edgerelay_received_samples_total")
	}

	// SIGHUP reloads the plugin chain: the filter now drops _count instead of _sum.
	env.edit(t, "drop: ['synth_request_duration_seconds_sum']", "drop: ['synth_request_duration_seconds_count']")
	edge.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "a scrape filtered by the reloaded chain", 60*time.Second, func() bool {
		for _, s := range readScrapes(t, files) {
			_, sum := s.samples[labelsWith(identity, "__name__", "synth_request_duration_seconds_sum")]
			_, count := s.samples[labelsWith(identity, "__name__", "synth_request_duration_seconds_count")]
			if sum && !count {
				return true
			}
		}
		return false
	})

	edge.stop(t)
	cloud.stop(t)
}
