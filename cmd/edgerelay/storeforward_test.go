package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The store-and-forward tests run the real binary through outages: the
// cloud down for a stretch, a queue cap, a bundle carried across.

// edit rewrites the edge configuration, replacing old with new.
func (env *e2eEnv) edit(t *testing.T, old, new string) {
	t.Helper()
	b, err := os.ReadFile(env.edgeConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("edge config has no %q", old)
	}
	os.WriteFile(env.edgeConfig, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644)
}

// scrapeFast makes newEnv's edge scrape its synthetic target every 100ms
// (timeout 90ms) instead of every 500ms.
func (env *e2eEnv) scrapeFast(t *testing.T) {
	t.Helper()
	env.edit(t, "scrape_interval: 500ms\n      scrape_timeout: 400ms", "scrape_interval: 100ms\n      scrape_timeout: 90ms")
}

// metric sums the samples of name (any labels) on a /metrics page.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	code, body := httpGet(url)
	if code != 200 {
		return math.NaN() // not serving: every comparison is false
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || len(line) == len(name) || (line[len(name)] != ' ' && line[len(name)] != '{') {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// waitDrained waits until the edge's queue is empty. A drain slowed down
// by a loaded machine is not a failure; one that stops is: it fails when
// for stillFor neither an answer from the cloud came (blocks acknowledged
// or already held) nor the queue reached a new low, or when the queue is
// still not empty after 5 minutes. With a thin link or many processes
// under -race on 2 cores the drain can take a minute or more while it
// never stops, live data being queued all along.
func waitDrained(t *testing.T, what, metricsURL string) {
	t.Helper()
	const stillFor, total = 30 * time.Second, 5 * time.Minute
	start := time.Now()
	moved := start
	var answered, low float64 = -1, math.Inf(1)
	var trail []string
	for {
		blocks := metric(t, metricsURL, "edgerelay_queue_blocks")
		if blocks == 0 {
			return
		}
		a := metric(t, metricsURL, "edgerelay_uplink_sent_blocks_total") +
			metric(t, metricsURL, "edgerelay_uplink_already_held_blocks_total")
		now := time.Now()
		if a > answered || blocks < low {
			moved = now
			answered, low = max(a, answered), min(blocks, low)
		}
		if len(trail) == 0 || now.Sub(start) >= time.Duration(len(trail))*5*time.Second {
			trail = append(trail, fmt.Sprintf("%s: %.0f queued, %.0f answered",
				now.Sub(start).Round(time.Second), blocks, a))
		}
		switch {
		case now.Sub(moved) > stillFor:
			t.Fatalf("waiting for %s: nothing moved for %s (%s)", what, stillFor, strings.Join(trail, "; "))
		case now.Sub(start) > total:
			t.Fatalf("waiting for %s: still not empty after %s (%s)", what, total, strings.Join(trail, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrapeNumbers returns the synth_scrape_number of every scrape directory
// written for the synthetic target, checking each one's values exactly.
// A scrape that failed at the edge (the target answered too late on a
// loaded machine) is written as its report series alone, up 0; it is left
// out, and each one may account for one number missing
// (scrapeNumbersAndFailures counts them).
func scrapeNumbers(t *testing.T, env *e2eEnv) []int64 {
	ns, _ := scrapeNumbersAndFailures(t, env)
	return ns
}

func scrapeNumbersAndFailures(t *testing.T, env *e2eEnv) (ns []int64, failed int) {
	t.Helper()
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	for _, s := range readScrapes(t, filepath.Join(env.dir, "files")) {
		if s.meta["type"] != "synth" {
			continue
		}
		if failedScrape(s.samples, identity) {
			t.Logf("%s: a failed scrape (up 0, report series only)", s.dir)
			failed++
			continue
		}
		ns = append(ns, expectSynth(t, s.dir, s.samples, identity))
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	return ns, failed
}

// failedScrape reports whether samples are those of a failed scrape: up is
// 0 and nothing but Prometheus' report series is there.
func failedScrape(samples map[string]float64, identity map[string]string) bool {
	if v, ok := samples[labelsWith(identity, "__name__", "up")]; !ok || v != 0 {
		return false
	}
	for k := range samples {
		if !strings.Contains(k, `__name__="up"`) && !strings.Contains(k, `__name__="scrape_`) {
			return false
		}
	}
	return true
}

// TestOutageDrainsInOrder keeps the cloud down while the edge scrapes
// quickly, then brings it back: every scrape arrives exactly once, and
// the drain rate is reported against the live ingest rate.
func TestOutageDrainsInOrder(t *testing.T) {
	env := newEnv(t)
	env.scrapeFast(t)
	outage := 8 * time.Second
	if s := os.Getenv("EDGERELAY_OUTAGE"); s != "" {
		outage, _ = time.ParseDuration(s)
	}
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	t0 := time.Now()
	time.Sleep(outage)
	backlog := metric(t, edgeMetrics, "edgerelay_queue_samples")
	ingested := metric(t, edgeMetrics, "edgerelay_ingested_samples_total")
	liveRate := ingested / time.Since(t0).Seconds()
	if backlog == 0 {
		t.Fatal("no backlog built up while the cloud was down")
	}

	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	t1 := time.Now()
	waitDrained(t, "backlog drained", edgeMetrics)
	drain := time.Since(t1)
	t.Logf("outage %s: backlog %.0f samples drained in %s (%.0f samples/s, %.1f× the live ingest rate of %.0f samples/s)",
		outage, backlog, drain.Round(time.Millisecond), backlog/drain.Seconds(), backlog/drain.Seconds()/liveRate, liveRate)

	edge.stop(t)
	cloud.stop(t)
	consecutiveScrapes(t, env, 10)
}

// consecutiveScrapes checks that at least min scrapes of the synthetic
// target arrived, each exactly as served (scrapeNumbers), none twice and
// none missing between the first and the last; it returns their numbers.
func consecutiveScrapes(t *testing.T, env *e2eEnv, min int) []int64 {
	t.Helper()
	ns, failed := scrapeNumbersAndFailures(t, env)
	if len(ns) < min {
		t.Fatalf("only %d scrapes arrived", len(ns))
	}
	for i := 1; i < len(ns); i++ {
		if ns[i] == ns[i-1] {
			t.Fatalf("scrape %d written twice", ns[i])
		}
		if gap := int(ns[i] - ns[i-1] - 1); gap > 0 {
			if gap > failed {
				t.Fatalf("scrapes %d..%d missing (%d failed scrapes written could account for %d)", ns[i-1]+1, ns[i]-1, failed, failed)
			}
			failed -= gap
		}
	}
	return ns
}

// TestQueueCapDropsOldestAndCountsThem runs a long outage against a small
// queue cap: the queue stays under it, and what the cloud receives plus
// what the edge counted as dropped is everything the edge committed.
func TestQueueCapDropsOldestAndCountsThem(t *testing.T) {
	const capBytes = 24 << 10
	env := newEnv(t, "  queue:\n    max_bytes: 24KiB\n    max_block_bytes: 8KiB\n")
	env.scrapeFast(t)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	maxSeen := 0.0
	waitFor(t, "the queue to drop blocks", 60*time.Second, func() bool {
		maxSeen = max(maxSeen, metric(t, edgeMetrics, "edgerelay_queue_bytes"))
		return metric(t, edgeMetrics, "edgerelay_queue_dropped_samples_total") > 0
	})
	for i := 0; i < 20; i++ {
		maxSeen = max(maxSeen, metric(t, edgeMetrics, "edgerelay_queue_bytes"))
		time.Sleep(100 * time.Millisecond)
	}
	if maxSeen > capBytes {
		t.Fatalf("queue reached %.0f bytes, cap is %d", maxSeen, capBytes)
	}
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	waitDrained(t, "backlog drained", edgeMetrics)
	// Connected again, the edge drops nothing more: its counters are final.
	droppedSamples := metric(t, edgeMetrics, "edgerelay_queue_dropped_samples_total")
	droppedBlocks := metric(t, edgeMetrics, "edgerelay_queue_dropped_blocks_total")
	// Whole delta generations were dropped: no frame reached the cloud
	// without its base.
	if lost := metric(t, "http://"+env.cloudHTTP+"/metrics", `edgerelay_cloud_delta_frames_total{outcome="no_base"}`); lost != 0 {
		t.Errorf("the cloud met %.0f delta frames without their base", lost)
	}
	edge.stop(t)
	cloud.stop(t)

	// Whole scrapes were dropped, oldest first: the scrapes that arrived are
	// consecutive from the first kept one to the last, and the dropped
	// counter is exactly the samples of the scrapes before it.
	ns, failed := scrapeNumbersAndFailures(t, env)
	if len(ns) == 0 {
		t.Fatal("nothing arrived")
	}
	for i := 1; i < len(ns); i++ {
		if gap := int(ns[i] - ns[i-1] - 1); gap != 0 {
			if gap < 0 || gap > failed {
				t.Fatalf("scrapes %d..%d missing after the drop point", ns[i-1]+1, ns[i]-1)
			}
			failed -= gap
		}
	}
	perScrape := float64(1 + 20 + 20 + 7 + 5) // scrape number, counters, gauges, histogram, Prometheus' report series
	if want := float64(ns[0]-1) * perScrape; droppedSamples != want {
		t.Fatalf("edgerelay_queue_dropped_samples_total = %.0f, want %.0f (scrapes 1..%d of %.0f samples each)", droppedSamples, want, ns[0]-1, perScrape)
	}
	t.Logf("queue peaked at %.0f bytes under a %d byte cap; dropped %.0f blocks = %.0f samples = scrapes 1..%d; %d scrapes arrived (%d..%d), none missing after",
		maxSeen, capBytes, droppedBlocks, droppedSamples, ns[0]-1, len(ns), ns[0], ns[len(ns)-1])
}

// TestExportImportRoundTrip carries a backlog across an "air gap": export
// it to a bundle, import it at one cloud, let the same backlog drain live
// to another, and compare; a second import changes nothing.
func TestExportImportRoundTrip(t *testing.T) {
	env := newEnv(t)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	waitFor(t, "a backlog of 5 blocks", 30*time.Second, func() bool { return metric(t, edgeMetrics, "edgerelay_queue_blocks") >= 5 })
	edge.stop(t)

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, env.bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("edgerelay %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	status := run("queue", "status", "--data-dir", filepath.Join(env.dir, "edge"))
	if !strings.Contains(status, "blocks") {
		t.Fatalf("queue status: %s", status)
	}
	bundle := filepath.Join(env.dir, "backlog.erb")
	run("queue", "export", "--data-dir", filepath.Join(env.dir, "edge"), "--out", bundle)

	// Import at cloud A (its own config: other dirs).
	cloudA := filepath.Join(env.dir, "cloud-a.yaml")
	os.WriteFile(cloudA, fmt.Appendf(nil, "cloud:\n  data_dir: %s/a/cloud\n  files_dir: %s/a/files\n", env.dir, env.dir), 0o644)
	out := run("queue", "import", "--config", cloudA, "--in", bundle)
	if !strings.Contains(out, "already there") || strings.Contains(out, "imported 0 blocks") {
		t.Fatalf("first import: %s", out)
	}
	snapshot := func(root string) map[string]string {
		m := map[string]string{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				m[rel] = string(b)
			}
			return nil
		})
		return m
	}
	imported := snapshot(filepath.Join(env.dir, "a", "files"))
	if len(imported) == 0 {
		t.Fatal("import wrote no files")
	}
	out = run("queue", "import", "--config", cloudA, "--in", bundle)
	if !strings.Contains(out, "imported 0 blocks") {
		t.Fatalf("second import was not a no-op: %s", out)
	}
	if again := snapshot(filepath.Join(env.dir, "a", "files")); len(again) != len(imported) {
		t.Fatalf("second import changed the files: %d → %d", len(imported), len(again))
	}

	// The same backlog sent live to cloud B: stop the target first so the
	// edge adds nothing new... the edge scrapes on start, so compare only
	// the directories the bundle holds.
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge = start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	waitDrained(t, "backlog drained live", edgeMetrics)
	edge.stop(t)
	cloud.stop(t)
	live := snapshot(filepath.Join(env.dir, "files"))
	for name, content := range imported {
		if live[name] != content {
			t.Fatalf("%s differs between the imported bundle and live sending", name)
		}
	}
	t.Logf("bundle %s: %d files identical to live sending; second import a no-op", bundle, len(imported))
}

// TestImportedBundleNotSentAgain: a backlog exported without
// --ack-exported and imported at the cloud does not cross the link when it
// returns: the cloud's WELCOME names the blocks it holds, the edge deletes
// them unsent, and the cloud meets no duplicate. Every scrape is there once.
func TestImportedBundleNotSentAgain(t *testing.T) {
	env := newEnv(t)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	cloudMetrics := "http://" + env.cloudHTTP + "/metrics"
	edgeReady := func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 }
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, edgeReady)
	waitFor(t, "a backlog of 8 blocks", 30*time.Second, func() bool { return metric(t, edgeMetrics, "edgerelay_queue_blocks") >= 8 })
	edge.stop(t)

	bundle := filepath.Join(env.dir, "backlog.erb")
	for _, args := range [][]string{
		{"queue", "export", "--data-dir", filepath.Join(env.dir, "edge"), "--out", bundle},
		{"queue", "import", "--config", env.cloudConfig, "--in", bundle},
	} {
		if out, err := exec.Command(env.bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("edgerelay %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge = start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, edgeReady)
	waitDrained(t, "the queue emptied", edgeMetrics)
	held := metric(t, edgeMetrics, "edgerelay_uplink_already_held_blocks_total")
	dups := metric(t, cloudMetrics, `edgerelay_cloud_blocks_total{outcome="duplicate"}`)
	// Live scrapes follow the imported ones: wait for them rather than a
	// fixed time (on a loaded machine the first ones may fail, or be late).
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	waitFor(t, "10 scrapes in the files", 60*time.Second, func() bool {
		n := 0
		for _, s := range readScrapes(t, filepath.Join(env.dir, "files")) {
			if s.meta["type"] == "synth" && !failedScrape(s.samples, identity) {
				n++
			}
		}
		return n >= 10
	})
	edge.stop(t)
	cloud.stop(t)
	if held < 8 || dups != 0 {
		t.Fatalf("%.0f blocks removed as already held (want >= 8), %.0f duplicates at the cloud (want 0)", held, dups)
	}
	ns := consecutiveScrapes(t, env, 10)
	t.Logf("%.0f imported blocks not sent again; %d scrapes exactly once", held, len(ns))
}
