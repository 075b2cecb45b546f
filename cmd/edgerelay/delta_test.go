package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startFastScrapes starts a cloud and an edge scraping the synthetic target
// every 100ms.
func startFastScrapes(t *testing.T) (env *e2eEnv, cloud, edge *proc) {
	env = newEnv(t)
	env.scrapeFast(t)
	cloud = env.startCloud(t)
	edge = start(t, env.bin, "run", "--config", env.edgeConfig)
	return env, cloud, edge
}

// startCloud starts the cloud and waits until it is ready.
func (env *e2eEnv) startCloud(t *testing.T) *proc {
	t.Helper()
	p := start(t, env.bin, "run", "--config", env.cloudConfig)
	waitFor(t, "cloud ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.cloudHTTP + "/-/ready"); return c == 200 })
	return p
}

// TestDeltaAcrossCloudCrashes scrapes quickly with delta encoding on (the
// default) and kills the cloud with SIGKILL twice while blocks of
// incremental frames are queued and in flight. The restarted cloud rebuilds
// its bases from disk: every scrape arrives exactly once and exactly as
// served, no frame meets a missing base, and the edge's own /metrics shows
// the wire cost per sample.
func TestDeltaAcrossCloudCrashes(t *testing.T) {
	env, cloud, edge := startFastScrapes(t)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	cloudMetrics := "http://" + env.cloudHTTP + "/metrics"
	startCloud := func() *proc { return env.startCloud(t) }
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })

	applied := 0.0
	for round := range 2 {
		waitFor(t, "incremental frames applied", 30*time.Second, func() bool {
			return metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="applied"}`) >= 15
		})
		applied += metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="applied"}`)
		cloud.cmd.Process.Signal(syscall.SIGKILL)
		<-cloud.done
		time.Sleep(time.Duration(300+400*round) * time.Millisecond) // a backlog of incremental frames builds up
		cloud = startCloud()
	}
	waitFor(t, "frames applied after the last crash", 30*time.Second, func() bool {
		return metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="applied"}`) >= 15
	})
	waitDrained(t, "backlog drained", edgeMetrics)
	if lost := metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="no_base"}`); lost != 0 {
		t.Errorf("after restarts the cloud met %.0f frames without their base", lost)
	}
	frames := metric(t, edgeMetrics, "edgerelay_delta_frames_total")
	full := metric(t, edgeMetrics, "edgerelay_delta_full_frames_total")
	sentBytes := metric(t, edgeMetrics, "edgerelay_uplink_sent_bytes_total")
	sentSamples := metric(t, edgeMetrics, "edgerelay_uplink_sent_samples_total")
	if v := metric(t, edgeMetrics, "edgerelay_delta_frame_version"); v != 3 {
		t.Errorf("delta frame version %v against a cloud of this build, want 3", v)
	}
	// A live lane started beside a backlog (a slow cloud let one build up)
	// begins a generation of its own, by design; no other full frame may
	// come: the restarted cloud kept its bases.
	edge.mu.Lock()
	lanes := strings.Count(edge.logs.String(), "live lane started beside the backlog")
	edge.mu.Unlock()
	if full != float64(1+lanes) {
		t.Errorf("%.0f of %.0f frames were full, want the first and one per live lane started (%d): the restarted cloud kept its bases, so reconnecting needs no full frames", full, frames, lanes)
	}
	if _, page := httpGet("http://" + env.edgeHTTP + "/"); !strings.Contains(page, "wire bytes per sample") || !strings.Contains(page, "delta, a full frame") {
		t.Errorf("the edge's status page does not show the uplink's encoding and cost:\n%s", page)
	}
	edge.stop(t)
	cloud.stop(t)

	ns := consecutiveScrapes(t, env, 30)
	t.Logf("%d scrapes (%d..%d) exact across 2 cloud SIGKILLs; %.0f frames, %.0f full (%d live lanes); uplink %.2f bytes/sample (framing, TLS handshakes and acks of a 53-sample target included)",
		len(ns), ns[0], ns[len(ns)-1], frames, full, lanes, sentBytes/sentSamples)
}

// TestDeltaCloudLostBases wipes the cloud's delta bases while it is down
// and incremental frames are queued, as when a cloud of a cluster dies and
// another takes its sites over: the cloud asks for the bases it lacks
// (need-base NACK), the edge resends the acknowledged blocks of its
// generation, which the cloud applies without writing them, and every
// scrape arrives exactly once.
func TestDeltaCloudLostBases(t *testing.T) {
	env, cloud, edge := startFastScrapes(t)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	cloudMetrics := "http://" + env.cloudHTTP + "/metrics"
	startCloud := func() *proc { return env.startCloud(t) }
	waitFor(t, "frames applied", 30*time.Second, func() bool {
		return metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="applied"}`) >= 10
	})
	cloud.cmd.Process.Signal(syscall.SIGKILL)
	<-cloud.done
	if err := os.RemoveAll(filepath.Join(env.dir, "cloud", "bases")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // incremental frames queue up
	cloud = startCloud()
	waitFor(t, "the edge to resend the generation's acknowledged blocks", 30*time.Second, func() bool {
		return metric(t, edgeMetrics, "edgerelay_uplink_replayed_blocks_total") >= 1 &&
			metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="base"}`) >= 1 &&
			metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="applied"}`) >= 10
	})
	waitDrained(t, "backlog drained", edgeMetrics)
	lost := metric(t, cloudMetrics, `edgerelay_cloud_delta_frames_total{outcome="no_base"}`)
	replayed := metric(t, edgeMetrics, "edgerelay_uplink_replayed_blocks_total")
	edge.stop(t)
	cloud.stop(t)

	ns, failed := scrapeNumbersAndFailures(t, env) // every scrape written is exact
	missing := 0
	for i := 1; i < len(ns); i++ {
		if ns[i] == ns[i-1] {
			t.Fatalf("scrape %d written twice", ns[i])
		}
		missing += int(ns[i] - ns[i-1] - 1)
	}
	// The cloud asked for the bases it lost; the edge sent the
	// generation's acknowledged blocks again, which the cloud applied
	// without writing them: nothing is lost but scrapes the edge gave up on.
	if lost != 0 || missing > failed {
		t.Fatalf("%d scrapes missing from the files (%d failed at the edge), the cloud counted %.0f frames without base", missing, failed, lost)
	}
	t.Logf("bases wiped: %.0f blocks resent to rebuild them, nothing lost, none written wrong or twice; %d scrapes exact (%d..%d)", replayed, len(ns), ns[0], ns[len(ns)-1])
}
