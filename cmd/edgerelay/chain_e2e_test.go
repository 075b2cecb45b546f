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

// chainScrapes returns the scrape numbers of the synthetic target at addr
// (tenant acme, site plant-7) written under a cloud's files dir, and the
// failed scrapes (up 0) left out.
func chainScrapes(t *testing.T, filesDir, addr string) (ns []int64, failed int) {
	t.Helper()
	identity := map[string]string{"job": "synth", "instance": addr, "env": "test", "site": "plant-7", "tenant": "acme"}
	for _, s := range readScrapes(t, filesDir) {
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

// chain starts a global cloud accepting the relay "region-eu" for tenant
// acme, a region cloud chaining to it, and an edge (tenant acme, site
// plant-7) shipping to the region, scraping a synthetic target every
// 200ms; it returns the three and the target's address.
func chain(t *testing.T, bin, dir string) (global, region, edge *fleetNode, addr string) {
	t.Helper()
	ts := httptest.NewServer(&synth.Target{Series: 20})
	t.Cleanup(ts.Close)
	addr = strings.TrimPrefix(ts.URL, "http://")
	tok := filepath.Join(dir, "relay.token")
	os.WriteFile(tok, []byte("s3cret-region\n"), 0o600)
	global = startFleetCloud(t, bin, dir, "global", fmt.Sprintf("  relays: [{name: region-eu, token_file: %s, tenants: [acme]}]\n", tok))
	region = startFleetCloud(t, bin, dir, "region", fmt.Sprintf(`  chain:
    address: %s
    server_name: localhost
    insecure_skip_verify: true
    max_backoff: 1s
    name: region-eu
    token_file: %s
`, global.quic, tok))
	job := fmt.Sprintf(`    - job_name: synth
      scrape_interval: 200ms
      scrape_timeout: 190ms
      static_configs: [{targets: [%q], labels: {env: test}}]
`, addr)
	edge = startFleetEdge(t, bin, dir, "edge", region.quic, job, "")
	return global, region, edge, addr
}

// TestChainTwoClouds: an edge ships to a region cloud, which chains to a
// global cloud: every scrape the region writes reaches the global cloud
// with tenant acme and site plant-7, once.
func TestChainTwoClouds(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	global, region, _, addr := chain(t, bin, dir)
	waitFor(t, "20 scrapes at the global cloud", 2*time.Minute, func() bool {
		ns, _ := chainScrapes(t, filepath.Join(global.dir, "files"), addr)
		return len(ns) >= 20
	})
	regionNs, _ := chainScrapes(t, filepath.Join(region.dir, "files"), addr)
	waitFor(t, "the global cloud holding every scrape the region wrote", 2*time.Minute, func() bool {
		ns, _ := chainScrapes(t, filepath.Join(global.dir, "files"), addr)
		return containsAll(ns, regionNs)
	})
	ns, _ := chainScrapes(t, filepath.Join(global.dir, "files"), addr)
	onceEach(t, "global", ns)
	if v := metric(t, "http://"+global.http+"/metrics", "edgerelay_cloud_relay_refused_blocks_total"); v != 0 {
		t.Errorf("global refused %v chained blocks", v)
	}
}

// containsAll reports whether sorted have holds every number of want.
func containsAll(have, want []int64) bool {
	set := map[int64]bool{}
	for _, n := range have {
		set[n] = true
	}
	for _, n := range want {
		if !set[n] {
			return false
		}
	}
	return true
}

// TestFleetChainRegionKill9: the region cloud is killed with SIGKILL while
// scrapes flow through it and restarted; once the edge has drained, every
// scrape the edge took is at the global cloud with its tenant and site,
// once: none lost in the region's chain queue, none written twice.
func TestFleetChainRegionKill9(t *testing.T) {
	fleetOnly(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	global, region, edge, addr := chain(t, bin, dir)
	for round := range 2 {
		waitFor(t, "scrapes flowing to the global cloud", 2*time.Minute, func() bool {
			ns, _ := chainScrapes(t, filepath.Join(global.dir, "files"), addr)
			return len(ns) >= 30*(round+1)
		})
		region.p.cmd.Process.Signal(syscall.SIGKILL)
		<-region.p.done
		time.Sleep(2 * time.Second) // the edge queues meanwhile
		region.start(t, bin)
	}
	// Stop the edge's scraping (a clean stop after its queue drained) and
	// compare what each cloud holds.
	waitDrained(t, "edge", "http://"+edge.http+"/metrics")
	edge.p.stop(t)
	regionNs, regionFailed := chainScrapes(t, filepath.Join(region.dir, "files"), addr)
	waitFor(t, "the region's chain queue drained", 2*time.Minute, func() bool {
		return metric(t, "http://"+region.http+"/metrics", "edgerelay_chain_queue_blocks") == 0
	})
	ns, failed := chainScrapes(t, filepath.Join(global.dir, "files"), addr)
	gaps := onceEach(t, "global", ns)
	if !containsAll(ns, regionNs) || len(ns) != len(regionNs) || failed != regionFailed {
		t.Errorf("global holds %d scrapes (%d failed), the region wrote %d (%d failed)", len(ns), failed, len(regionNs), regionFailed)
	}
	if gaps > failed {
		t.Errorf("%d scrape numbers missing at the global cloud, %d failed scrapes to account for them", gaps, failed)
	}
	t.Logf("%d scrapes (%d..%d) through two region kills, %d failed at the edge", len(ns), ns[0], ns[len(ns)-1], failed)
}
