package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
