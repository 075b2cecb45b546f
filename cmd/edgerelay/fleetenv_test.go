package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// fleetEnv is an edge scraping a synthetic target every 100ms and shipping
// to clouds a and b (edge.upstreams), every process real.
type fleetEnv struct {
	bin, dir   string
	targetAddr string
	edgeHTTP   string
	clouds     map[string]*fleetCloud
	// edgeConfig is written with and edgeDrain without the scrape job.
	edgeConfig, edgeDrain string
}

type fleetCloud struct {
	name, quic, http, config string
	files                    string
	p                        *proc
}

// newFleetEnv writes the configs: mode is the edge's upstream_mode, and
// extra more lines of its section; upstreamExtra more keys of each
// upstream ("max_backlog_bytes: 1MiB"), by cloud name.
func newFleetEnv(t *testing.T, mode, extra string, upstreamExtra map[string]string) *fleetEnv {
	env := &fleetEnv{bin: buildBinary(t), dir: t.TempDir(), clouds: map[string]*fleetCloud{}}
	target := &synth.Target{Series: 20}
	ts := httptest.NewServer(target)
	t.Cleanup(ts.Close)
	env.targetAddr = strings.TrimPrefix(ts.URL, "http://")
	env.edgeHTTP = freePort(t, "tcp")
	ups, drainUps := "", ""
	for _, name := range []string{"a", "b"} {
		c := &fleetCloud{name: name, quic: freePort(t, "udp"), http: freePort(t, "tcp"),
			config: filepath.Join(env.dir, "cloud-"+name+".yaml"), files: filepath.Join(env.dir, name, "files")}
		os.WriteFile(c.config, fmt.Appendf(nil, `
cloud:
  quic_listen: %s
  http_listen: %s
  data_dir: %s/%s/cloud
  files_dir: %s
`, c.quic, c.http, env.dir, name, c.files), 0o644)
		env.clouds[name] = c
		up := fmt.Sprintf(`    - name: %s
      address: %s
      server_name: localhost
      insecure_skip_verify: true
      max_backoff: 1s
`, name, c.quic)
		drainUps += up
		if x := upstreamExtra[name]; x != "" {
			up += "      " + x + "\n"
		}
		ups += up
	}
	edge := func(scrape, ups string) string {
		return fmt.Sprintf(`
edge:
  tenant: acme
  site: plant-7
  data_dir: %s/edge
  http_listen: %s
%s  upstreams:
%s  upstream_mode: %s
%s`, env.dir, env.edgeHTTP, scrape, ups, mode, extra)
	}
	env.edgeConfig = filepath.Join(env.dir, "edge.yaml")
	env.edgeDrain = filepath.Join(env.dir, "edge-drain.yaml")
	os.WriteFile(env.edgeConfig, []byte(edge(fmt.Sprintf(`  scrape_configs:
    - job_name: synth
      scrape_interval: 100ms
      scrape_timeout: 90ms
      static_configs: [{targets: [%q], labels: {env: test}}]
`, env.targetAddr), ups)), 0o644)
	// Draining, the upstreams have no extra keys (no backlog cap): what is
	// queued for each goes to it.
	os.WriteFile(env.edgeDrain, []byte(edge("", drainUps)), 0o644)
	return env
}

func (env *fleetEnv) startCloud(t *testing.T, name string) {
	t.Helper()
	c := env.clouds[name]
	c.p = start(t, env.bin, "run", "--config", c.config)
	waitFor(t, "cloud "+name+" ready", 60*time.Second, func() bool { code, _ := httpGet("http://" + c.http + "/-/ready"); return code == 200 })
}

func (env *fleetEnv) killCloud(name string) {
	c := env.clouds[name]
	c.p.cmd.Process.Signal(syscall.SIGKILL)
	<-c.p.done
}

func (env *fleetEnv) cloudMetric(t *testing.T, name, metricName string) float64 {
	return metric(t, "http://"+env.clouds[name].http+"/metrics", metricName)
}

func (env *fleetEnv) edgeMetric(t *testing.T, name string) float64 {
	return metric(t, "http://"+env.edgeHTTP+"/metrics", name)
}

// drain kills the scraping edge with SIGKILL and starts it again without
// its scrape job, so what was queued goes out and nothing new comes; it
// returns once done reports the queue delivered.
func (env *fleetEnv) drain(t *testing.T, edge *proc, done func() bool) *proc {
	t.Helper()
	edge.cmd.Process.Signal(syscall.SIGKILL)
	<-edge.done
	edge = start(t, env.bin, "run", "--config", env.edgeDrain)
	waitFor(t, "edge ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	waitFor(t, "the queue delivered", 3*time.Minute, done)
	return edge
}

// scrapesIn returns the synth scrape numbers cloud name wrote, sorted, and
// how many failed scrapes it wrote; every scrape written is checked exact.
func (env *fleetEnv) scrapesIn(t *testing.T, name string) (ns []int64, failed int) {
	t.Helper()
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	for _, s := range readScrapes(t, env.clouds[name].files) {
		if s.meta["type"] != "synth" {
			continue
		}
		if failedScrape(s.samples, identity) {
			failed++
			continue
		}
		ns = append(ns, expectSynth(t, s.dir, s.samples, identity))
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	return ns, failed
}

// onceEach fails when a scrape number repeats, and returns the gaps.
func onceEach(t *testing.T, where string, ns []int64) (gaps int) {
	t.Helper()
	for i := 1; i < len(ns); i++ {
		if ns[i] == ns[i-1] {
			t.Fatalf("%s: scrape %d written twice", where, ns[i])
		}
		gaps += int(ns[i] - ns[i-1] - 1)
	}
	return gaps
}

// fleetOnly skips a long fleet test unless EDGERELAY_FLEET=1 (make
// test-fleet).
func fleetOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("EDGERELAY_FLEET") != "1" {
		t.Skip("a fleet test of a minute or more: make test-fleet (EDGERELAY_FLEET=1) runs it")
	}
}
