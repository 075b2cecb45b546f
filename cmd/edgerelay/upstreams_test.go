package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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

// TestFleetReplicateOneDown ships to two clouds in upstream_mode
// replicate and kills one with SIGKILL for a while: the other keeps
// receiving, the edge keeps the blocks for the one down, and once it is
// back (and the edge itself was killed and restarted) both clouds hold
// every scrape, once.
func TestFleetReplicateOneDown(t *testing.T) {
	fleetOnly(t)
	env := newFleetEnv(t, "replicate", "", nil)
	env.startCloud(t, "a")
	env.startCloud(t, "b")
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	received := func(name string) float64 { return env.cloudMetric(t, name, "edgerelay_received_samples_total") }
	waitFor(t, "both clouds receive", 60*time.Second, func() bool { return received("a") > 500 && received("b") > 500 })

	env.killCloud("b")
	down := received("a")
	waitFor(t, "a keeps receiving while b is down, and blocks queue for b", 60*time.Second, func() bool {
		return received("a") > down+2000 && env.edgeMetric(t, `edgerelay_upstream_backlog_bytes{upstream="b"}`) > 0
	})
	if v := env.edgeMetric(t, `edgerelay_upstream_backlog_bytes{upstream="a"}`); v > env.edgeMetric(t, `edgerelay_upstream_backlog_bytes{upstream="b"}`) {
		t.Errorf("a's backlog %.0f bytes exceeds b's while b is down", v)
	}
	if _, page := httpGet("http://" + env.edgeHTTP + "/"); !strings.Contains(page, "upstream_mode replicate") || !strings.Contains(page, "acknowledged through seq") {
		t.Errorf("the status page does not show the upstreams:\n%s", page)
	}
	// queue status (the edge stopped) gives each upstream's position: b
	// behind a, with blocks still to take.
	edge.cmd.Process.Signal(syscall.SIGKILL)
	<-edge.done
	out, err := exec.Command(env.bin, "queue", "status", "--data-dir", filepath.Join(env.dir, "edge")).CombinedOutput()
	if err != nil {
		t.Fatalf("queue status: %v\n%s", err, out)
	}
	var ackedA, ackedB, blocksB int64
	for _, line := range strings.Split(string(out), "\n") {
		var name string
		var acked, blocks int64
		if n, _ := fmt.Sscanf(line, "upstream %s acked_seq %d backlog_blocks %d", &name, &acked, &blocks); n == 3 {
			switch name {
			case "a":
				ackedA = acked
			case "b":
				ackedB, blocksB = acked, blocks
			}
		}
	}
	if ackedA == 0 || ackedB >= ackedA || blocksB == 0 {
		t.Errorf("queue status: a acked through %d, b through %d with %d blocks to take; want b behind a:\n%s", ackedA, ackedB, blocksB, out)
	}
	env.startCloud(t, "b")
	edge = env.drain(t, edge, func() bool { return env.edgeMetric(t, "edgerelay_queue_blocks") == 0 })
	edge.stop(t)
	for _, name := range []string{"a", "b"} {
		if lost := env.cloudMetric(t, name, `edgerelay_cloud_delta_frames_total{outcome="no_base"}`); lost != 0 {
			t.Errorf("cloud %s met %v frames without their base", name, lost)
		}
	}
	for _, c := range env.clouds {
		c.p.stop(t)
	}

	a, failedA := env.scrapesIn(t, "a")
	b, failedB := env.scrapesIn(t, "b")
	if len(a) < 30 {
		t.Fatalf("only %d scrapes reached a", len(a))
	}
	if gaps := onceEach(t, "a", a); gaps > failedA {
		t.Errorf("a misses %d scrapes (%d failed ones written)", gaps, failedA)
	}
	onceEach(t, "b", b)
	if fmt.Sprint(a) != fmt.Sprint(b) || failedA != failedB {
		t.Fatalf("the clouds differ: a has %d scrapes (%d..%d, %d failed), b %d (%d failed)", len(a), a[0], a[len(a)-1], failedA, len(b), failedB)
	}
	t.Logf("both clouds hold scrapes %d..%d (%d), each once, b down for part of them", a[0], a[len(a)-1], len(a))
}

// TestUplinkPauseResume pauses the uplink by POST /-/uplink/pause: the
// edge keeps queueing and says so on /metrics and its status page; after
// POST /-/uplink/resume the backlog drains and every scrape reaches the
// cloud once. Without --web.enable-lifecycle both paths answer 403.
func TestUplinkPauseResume(t *testing.T) {
	env := newEnv(t)
	env.scrapeFast(t)
	cloud := env.startCloud(t)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig, "--web.enable-lifecycle")
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	cloudMetrics := "http://" + env.cloudHTTP + "/metrics"
	waitFor(t, "samples arrive", 60*time.Second, func() bool { return metric(t, cloudMetrics, "edgerelay_received_samples_total") > 500 })

	post := func(path string) int {
		resp, err := http.Post("http://"+env.edgeHTTP+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/-/uplink/pause"); code != 200 {
		t.Fatalf("POST /-/uplink/pause: %d", code)
	}
	waitFor(t, "edgerelay_uplink_paused 1 and the uplink down", 30*time.Second, func() bool {
		return metric(t, edgeMetrics, "edgerelay_uplink_paused") == 1 && metric(t, edgeMetrics, "edgerelay_uplink_connected") == 0
	})
	paused := metric(t, cloudMetrics, "edgerelay_received_samples_total")
	queued := metric(t, edgeMetrics, "edgerelay_queue_committed_samples_total")
	waitFor(t, "scrapes queue while paused", 60*time.Second, func() bool {
		return metric(t, edgeMetrics, "edgerelay_queue_blocks") >= 10 && metric(t, edgeMetrics, "edgerelay_queue_committed_samples_total") > queued+1000
	})
	if got := metric(t, cloudMetrics, "edgerelay_received_samples_total"); got != paused {
		t.Errorf("the cloud received %.0f samples while the uplink was paused", got-paused)
	}
	if _, page := httpGet("http://" + env.edgeHTTP + "/"); !strings.Contains(page, "PAUSED (manual") {
		t.Errorf("the status page does not say the uplink is paused")
	}
	if code := post("/-/uplink/resume"); code != 200 {
		t.Fatalf("POST /-/uplink/resume: %d", code)
	}
	waitFor(t, "edgerelay_uplink_paused 0", 30*time.Second, func() bool { return metric(t, edgeMetrics, "edgerelay_uplink_paused") == 0 })
	waitDrained(t, "backlog drained after resume", edgeMetrics)
	edge.stop(t)
	cloud.stop(t)
	ns := consecutiveScrapes(t, env, 20)
	t.Logf("scrapes %d..%d each once across a pause", ns[0], ns[len(ns)-1])

	// Without the lifecycle flag the paths are refused.
	edge = start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	if code := post("/-/uplink/pause"); code != http.StatusForbidden {
		t.Errorf("POST /-/uplink/pause without --web.enable-lifecycle: %d, want 403", code)
	}
	edge.stop(t)
}

// TestFleetFailover ships to clouds a and b in upstream_mode failover and
// kills a, the primary, with SIGKILL under load: the edge moves to b after
// failover_after, and once the edge was killed and restarted to drain, every
// scrape is in at least one cloud, none twice in either, and neither cloud
// met a delta frame without its base.
func TestFleetFailover(t *testing.T) {
	fleetOnly(t)
	env := newFleetEnv(t, "failover", "  failover_after: 2s\n", nil)
	env.startCloud(t, "a")
	env.startCloud(t, "b")
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	received := func(name string) float64 { return env.cloudMetric(t, name, "edgerelay_received_samples_total") }
	waitFor(t, "a receives", 60*time.Second, func() bool { return received("a") > 1000 })
	if got := received("b"); got != 0 {
		t.Errorf("b, the secondary, received %.0f samples while a was up", got)
	}
	env.killCloud("a")
	waitFor(t, "the edge fails over to b, which receives", 2*time.Minute, func() bool {
		return env.edgeMetric(t, "edgerelay_upstream_failovers_total") >= 1 && received("b") > 1000
	})
	if v := env.edgeMetric(t, `edgerelay_upstream_active{upstream="b"}`); v != 1 {
		t.Errorf(`edgerelay_upstream_active{upstream="b"} = %v after the failover, want 1`, v)
	}
	// The edge restarts on a (down) and, when b lacks blocks, moves to b
	// again to drain.
	edge = env.drain(t, edge, func() bool {
		return env.edgeMetric(t, `edgerelay_upstream_backlog_bytes{upstream="b"}`) == 0 &&
			env.edgeMetric(t, `edgerelay_upstream_acked_seq{upstream="b"}`) > 0
	})
	edge.stop(t)
	if lost := env.cloudMetric(t, "b", `edgerelay_cloud_delta_frames_total{outcome="no_base"}`); lost != 0 {
		t.Errorf("b met %v frames without their base after taking over", lost)
	}
	env.clouds["b"].p.stop(t)

	a, failedA := env.scrapesIn(t, "a")
	b, failedB := env.scrapesIn(t, "b")
	onceEach(t, "a", a)
	onceEach(t, "b", b)
	both := 0
	seen := map[int64]bool{}
	for _, n := range a {
		seen[n] = true
	}
	for _, n := range b {
		if seen[n] {
			both++
		}
		seen[n] = true
	}
	var all []int64
	for n := range seen {
		all = append(all, n)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if gaps := onceEach(t, "a and b", all); gaps > failedA+failedB {
		t.Errorf("%d scrapes in neither cloud (%d failed ones written)", gaps, failedA+failedB)
	}
	if len(a) < 10 || len(b) < 10 {
		t.Fatalf("a holds %d scrapes, b %d: want both to have taken part", len(a), len(b))
	}
	t.Logf("a holds %d scrapes (%d..%d), b %d (%d..%d), %d in both; all %d..%d delivered",
		len(a), a[0], a[len(a)-1], len(b), b[0], b[len(b)-1], both, all[0], all[len(all)-1])
}

// TestFleetReplicateBacklogCap keeps cloud b down past its
// max_backlog_bytes: the edge drops b's oldest blocks for b alone, whole
// delta generations, and starts a new generation, so b (back again) gets
// full frames and never a frame without its base, while a has every
// scrape once.
func TestFleetReplicateBacklogCap(t *testing.T) {
	fleetOnly(t)
	env := newFleetEnv(t, "replicate", "  queue: {max_block_bytes: 16KiB}\n", map[string]string{"b": "max_backlog_bytes: 16KiB"})
	env.startCloud(t, "a")
	env.startCloud(t, "b")
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	received := func(name string) float64 { return env.cloudMetric(t, name, "edgerelay_received_samples_total") }
	waitFor(t, "both clouds receive", 60*time.Second, func() bool { return received("a") > 500 && received("b") > 500 })
	gens := env.edgeMetric(t, "edgerelay_delta_generations_total")
	env.killCloud("b")
	waitFor(t, "blocks dropped for b, and a new generation", 3*time.Minute, func() bool {
		return env.edgeMetric(t, `edgerelay_upstream_dropped_blocks_total{reason="max_backlog_bytes",upstream="b"}`) > 0 &&
			env.edgeMetric(t, "edgerelay_delta_generations_total") > gens
	})
	if v := env.edgeMetric(t, `edgerelay_upstream_dropped_blocks_total{reason="max_backlog_bytes",upstream="a"}`); v != 0 {
		t.Errorf("%v blocks dropped for a, which is up", v)
	}
	dropped := env.edgeMetric(t, `edgerelay_upstream_dropped_samples_total{reason="max_backlog_bytes",upstream="b"}`)
	env.startCloud(t, "b")
	edge = env.drain(t, edge, func() bool { return env.edgeMetric(t, "edgerelay_queue_blocks") == 0 })
	edge.stop(t)
	if lost := env.cloudMetric(t, "b", `edgerelay_cloud_delta_frames_total{outcome="no_base"}`); lost != 0 {
		t.Errorf("b met %v frames without their base", lost)
	}
	for _, c := range env.clouds {
		c.p.stop(t)
	}
	a, failedA := env.scrapesIn(t, "a")
	b, _ := env.scrapesIn(t, "b")
	if gaps := onceEach(t, "a", a); gaps > failedA {
		t.Errorf("a misses %d scrapes (%d failed ones written)", gaps, failedA)
	}
	missing := onceEach(t, "b", b)
	inA := map[int64]bool{}
	for _, n := range a {
		inA[n] = true
	}
	for _, n := range b {
		if !inA[n] {
			t.Errorf("b holds scrape %d, which a lacks", n)
		}
	}
	if missing == 0 || b[len(b)-1] != a[len(a)-1] {
		t.Fatalf("b holds %d scrapes (%d..%d, %d missing), a %d..%d: want a gap at b and b caught up", len(b), b[0], b[len(b)-1], missing, a[0], a[len(a)-1])
	}
	t.Logf("a holds %d scrapes (%d..%d); b %d, %d dropped for it (%v samples counted), none without its base",
		len(a), a[0], a[len(a)-1], len(b), missing, dropped)
}
