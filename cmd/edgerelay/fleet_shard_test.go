package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/etcdtest"
)

// scrapeTimes returns the timestamps (µs) of the scrapes of target addr
// (job synth, site plant-7) the cloud wrote under filesDir, sorted.
func scrapeTimes(filesDir, addr string) []int64 {
	dirs, _ := filepath.Glob(filepath.Join(filesDir, "acme", "plant-7", strings.ReplaceAll(addr, ":", "_")+".synth", "[0-9]*"))
	var ts []int64
	for _, d := range dirs {
		if us, err := strconv.ParseInt(filepath.Base(d), 10, 64); err == nil {
			ts = append(ts, us)
		}
	}
	slices.Sort(ts)
	return ts
}

// shardState sums edgerelay_shard_* over live edges.
func shardState(t *testing.T, edges []*fleetNode) (scraped, members []float64) {
	for _, e := range edges {
		scraped = append(scraped, metric(t, "http://"+e.http+"/metrics", `edgerelay_shard_targets{state="scraped"}`))
		members = append(members, metric(t, "http://"+e.http+"/metrics", "edgerelay_shard_members"))
	}
	return scraped, members
}

// settled reports whether the edges all see n members and scrape every
// one of total targets between them.
func settled(t *testing.T, edges []*fleetNode, n, total int) bool {
	scraped, members := shardState(t, edges)
	sum := 0.0
	for i := range edges {
		if members[i] != float64(n) {
			return false
		}
		sum += scraped[i]
	}
	return sum == float64(total)
}

// TestFleetShardEtcd: three edges of one site share twelve targets through
// etcd membership (a real etcd). Once settled, every target is on the
// cloud's /federate scraped by exactly one edge. One edge is killed with
// SIGKILL: the other two take its targets when its lease expires, and the
// longest gap in any target's scrapes at the cloud is measured against
// one interval plus the time the survivors took to re-share. The killed
// edge comes back and the shares return to three.
func TestFleetShardEtcd(t *testing.T) {
	fleetOnly(t)
	bin := buildBinary(t)
	etcd := etcdtest.Start(t)
	dir := t.TempDir()
	const interval, ttl = time.Second, 3 * time.Second
	addrs, job := synthTargets(t, 12, 5, "1s")
	cloud := startFleetCloud(t, bin, dir, "cloud", "  federate: {max_age: 4s}\n")
	var edges []*fleetNode
	for i := range 3 {
		extra := fmt.Sprintf("  scrape_shard: {etcd: {endpoints: [%q], name: e%d, ttl: %s}}\n  external_labels: {edge: e%d}\n",
			etcd.Endpoint, i, ttl, i)
		edges = append(edges, startFleetEdge(t, bin, dir, fmt.Sprintf("e%d", i), cloud.quic, job, extra))
	}
	waitFor(t, "three edges sharing every target", 3*time.Minute, func() bool { return settled(t, edges, 3, len(addrs)) })
	onceEach := func() bool {
		ups := federatedUps(t, cloud.http)
		for _, a := range addrs {
			if len(ups[a]) != 1 {
				return false
			}
		}
		return true
	}
	waitFor(t, "every target on /federate scraped by exactly one edge", 2*time.Minute, onceEach)
	scraped, _ := shardState(t, edges)
	t.Logf("targets per edge: %v", scraped)

	// Kill e2: its lease expires, e0 and e1 take its targets.
	killed := time.Now()
	edges[2].p.cmd.Process.Signal(syscall.SIGKILL)
	<-edges[2].p.done
	waitFor(t, "two edges sharing every target", 2*time.Minute, func() bool { return settled(t, edges[:2], 2, len(addrs)) })
	rebalance := time.Since(killed)
	// Every target scraped twice more after the re-share, then measure.
	after := time.Now().Add(2 * interval).UnixMicro()
	waitFor(t, "every target scraped after the re-share", 2*time.Minute, func() bool {
		for _, a := range addrs {
			ts := scrapeTimes(filepath.Join(cloud.dir, "files"), a)
			if len(ts) == 0 || ts[len(ts)-1] < after {
				return false
			}
		}
		return true
	})
	var worst time.Duration
	var worstTarget string
	from := killed.Add(-5 * interval).UnixMicro()
	for _, a := range addrs {
		ts := scrapeTimes(filepath.Join(cloud.dir, "files"), a)
		for i := 1; i < len(ts); i++ {
			if ts[i-1] < from {
				continue
			}
			if gap := time.Duration(ts[i]-ts[i-1]) * time.Microsecond; gap > worst {
				worst, worstTarget = gap, a
			}
		}
	}
	t.Logf("edge e2 killed: survivors re-shared after %v (lease ttl %v); longest gap in a target's scrapes %v (%s), interval %v",
		rebalance.Round(time.Millisecond), ttl, worst.Round(time.Millisecond), worstTarget, interval)
	if worst > interval+rebalance+2*interval {
		t.Errorf("a target went %v without a scrape: more than one interval (%v) plus the re-share time (%v), with %v of slack",
			worst, interval, rebalance, 2*interval)
	}
	waitFor(t, "every target on /federate scraped by exactly one edge, after the kill", 2*time.Minute, onceEach)

	// e2 comes back under its name: the shares are three again.
	edges[2].start(t, bin)
	waitFor(t, "three edges again", 2*time.Minute, func() bool { return settled(t, edges, 3, len(addrs)) })
	waitFor(t, "every target on /federate scraped by exactly one edge, after the return", 2*time.Minute, onceEach)
}
