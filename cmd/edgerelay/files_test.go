package main

import (
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// TestFilesExactAcrossCloudRestart scrapes a scripted target whose series
// churn, so Prometheus' scrape code appends staleness markers, and kills the
// cloud with SIGKILL mid-run while the edge keeps queueing. Every .data.gz
// the cloud writes, before and after the restart, is exactly the tick the
// target served: no extra series (a marker written as NaN would be one),
// none missing, every value. The markers still reach remote_write, where
// Prometheus would send them.
func TestFilesExactAcrossCloudRestart(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	target := &scriptedTarget{}
	ts := httptest.NewServer(target)
	t.Cleanup(ts.Close)
	sink := &staleSink{}
	rw := httptest.NewServer(sink)
	t.Cleanup(rw.Close)
	addr := strings.TrimPrefix(ts.URL, "http://")
	cloudConfig, cloudHTTP, edgeConfigs, edgeHTTP := filesConfigs(t, dir, addr, rw.URL+"/api/v1/write", "plant-7")
	files := filepath.Join(dir, "files")
	identity := map[string]string{"job": "scripted", "instance": addr, "site": "plant-7", "tenant": "acme"}
	maxTick := func() int64 {
		var m int64
		for _, s := range readScrapes(t, files) {
			m = max(m, int64(s.samples[labelsWith(identity, "__name__", "scripted_tick")]))
		}
		return m
	}
	startCloud := func() *proc {
		p := start(t, bin, "run", "--config", cloudConfig)
		waitFor(t, "cloud ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + cloudHTTP + "/-/ready"); return c == 200 })
		return p
	}

	cloud := startCloud()
	edge := start(t, bin, "run", "--config", edgeConfigs[0])
	waitFor(t, "edge ready", 120*time.Second, func() bool { c, _ := httpGet("http://" + edgeHTTP[0] + "/-/ready"); return c == 200 })
	waitFor(t, "ten ticks in files", 30*time.Second, func() bool { return maxTick() >= 10 })

	cloud.cmd.Process.Signal(syscall.SIGKILL)
	<-cloud.done
	down := target.n.Load()
	waitFor(t, "ten scrapes queued while the cloud is down", 30*time.Second, func() bool { return target.n.Load() >= down+10 })
	restart := target.n.Load()
	cloud = startCloud()
	waitFor(t, "the ticks scraped while the cloud was down, and more", 60*time.Second, func() bool { return maxTick() >= restart+5 })
	checkRemoteWriteMarkers(t, "http://"+edgeHTTP[0]+"/api/v1/write", files, sink)
	edge.stop(t)
	cloud.stop(t)

	scrapes := readScrapes(t, files)
	var ticks []int64
	failed := 0
	for _, s := range scrapes {
		if s.meta["type"] == "rwstale" {
			continue // checkRemoteWriteMarkers'
		}
		if want := filepath.Join(files, "acme", "plant-7", strings.ReplaceAll(addr, ":", "_")+".scripted"); filepath.Dir(s.dir) != want {
			t.Fatalf("scrape written to %s, want under %s", s.dir, want)
		}
		if n := checkScriptedFile(t, s, identity); n > 0 {
			ticks = append(ticks, n)
		} else {
			failed++
		}
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i] < ticks[j] })
	if len(ticks) == 0 || ticks[0] != 1 || ticks[len(ticks)-1] < restart {
		t.Fatalf("ticks in files %v: want 1 up to past %d, the tick the cloud came back at", ticks, restart)
	}
	gaps := 0
	for i := 1; i < len(ticks); i++ {
		if ticks[i] == ticks[i-1] {
			t.Fatalf("tick %d written twice", ticks[i])
		}
		gaps += int(ticks[i] - ticks[i-1] - 1)
	}
	if gaps > failed {
		t.Fatalf("ticks %v: %d missing, only %d scrapes failed", ticks, gaps, failed)
	}
	markers := sink.checkMarkersForwarded(t)
	if markers < 10 {
		t.Fatalf("remote_write got %d staleness markers: the script's churn should make more", markers)
	}
	t.Logf("%d scrapes (ticks %d..%d, cloud killed at %d and back at %d) exactly as served; %d staleness markers forwarded, none written",
		len(ticks), ticks[0], ticks[len(ticks)-1], down, restart, markers)
}

// checkRemoteWriteMarkers remote-writes one request holding staleness
// markers into the edge: for instance a, a series with a value and one
// with a marker; for instance b, a marker only. The cloud's files split
// it by instance: a's directory holds the value only, b gets none; the
// cloud's remote_write output gets both markers.
func checkRemoteWriteMarkers(t *testing.T, url, files string, sink *staleSink) {
	t.Helper()
	now := time.Now().UnixMilli()
	stale := math.Float64frombits(value.StaleNaN)
	series := func(name, inst string, v float64) prompb.TimeSeries {
		return prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "instance", Value: inst}, {Name: "job", Value: "rwstale"}},
			Samples: []prompb.Sample{{Timestamp: now, Value: v}},
		}
	}
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		series("rw_kept", "a", 7.5), series("rw_gone", "a", stale), series("rw_gone", "b", stale),
	}}
	mustWrite(t, url, req, "remote_write with staleness markers")
	gone := labels.FromStrings("__name__", "rw_gone").String()
	waitFor(t, "the remote_write request at the cloud's outputs", 30*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.got[gone] != nil
	})
	sink.mu.Lock()
	bits := sink.got[gone][now]
	sink.mu.Unlock()
	if !value.IsStaleNaN(math.Float64frombits(bits)) {
		t.Fatalf("remote_write out got rw_gone = %x at %d, want the staleness marker", bits, now)
	}
	var a []scrapeFile
	for _, s := range readScrapes(t, files) {
		if s.meta["type"] == "rwstale" {
			a = append(a, s)
		}
	}
	if len(a) != 1 {
		t.Fatalf("remote_write with markers wrote %d directories, want one for instance a: %v", len(a), a)
	}
	if got := filepath.Base(filepath.Dir(a[0].dir)); got != "a.rwstale" {
		t.Fatalf("remote_write with markers written to %s, want a.rwstale", got)
	}
	want := labels.FromStrings("__name__", "rw_kept", "instance", "a", "job", "rwstale", "site", "plant-7", "tenant", "acme").String()
	if len(a[0].samples) != 1 || a[0].samples[want] != 7.5 {
		t.Fatalf("%s holds %v, want only %s 7.5", a[0].dir, a[0].samples, want)
	}
	if dts, _ := a[0].meta["dts"].(float64); int64(dts) != now {
		t.Fatalf("%s: dts %v, want %d", a[0].dir, a[0].meta["dts"], now)
	}
}

// TestFilesTwoSitesSameAddress: two edges (two sites) scrape the same
// address through one cloud. Each site gets its own target directory and
// latest link; every file holds one tick as served, labelled with its own
// site only; and each tick the target served is in exactly one site's
// directory, so no directory mixes the two.
func TestFilesTwoSitesSameAddress(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	target := &scriptedTarget{}
	ts := httptest.NewServer(target)
	t.Cleanup(ts.Close)
	addr := strings.TrimPrefix(ts.URL, "http://")
	sites := []string{"plant-a", "plant-b"}
	cloudConfig, cloudHTTP, edgeConfigs, edgeHTTP := filesConfigs(t, dir, addr, "", sites...)
	files := filepath.Join(dir, "files")
	targetDir := func(site string) string {
		return filepath.Join(files, "acme", site, strings.ReplaceAll(addr, ":", "_")+".scripted")
	}

	cloud := start(t, bin, "run", "--config", cloudConfig)
	waitFor(t, "cloud ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + cloudHTTP + "/-/ready"); return c == 200 })
	var edges []*proc
	for i := range sites {
		edges = append(edges, start(t, bin, "run", "--config", edgeConfigs[i]))
	}
	for i := range sites {
		waitFor(t, sites[i]+" edge ready", 120*time.Second, func() bool { c, _ := httpGet("http://" + edgeHTTP[i] + "/-/ready"); return c == 200 })
	}
	waitFor(t, "five scrapes from each site", 30*time.Second, func() bool {
		for _, site := range sites {
			if m, _ := filepath.Glob(filepath.Join(targetDir(site), "[0-9]*")); len(m) < 5 {
				return false
			}
		}
		return true
	})
	for _, e := range edges {
		e.stop(t)
	}
	cloud.stop(t)

	bySite := map[string][]int64{}
	site := map[int64]string{}
	for _, s := range readScrapes(t, files) {
		var in string
		for _, c := range sites {
			if filepath.Dir(s.dir) == targetDir(c) {
				in = c
			}
		}
		if in == "" {
			t.Fatalf("scrape written to %s, outside both sites' target directories", s.dir)
		}
		if kvs, _ := s.meta["kvs"].(map[string]any); kvs["site"] != in {
			t.Fatalf("%s: kvs %v, want site %q", s.dir, s.meta["kvs"], in)
		}
		n := checkScriptedFile(t, s, map[string]string{"job": "scripted", "instance": addr, "site": in, "tenant": "acme"})
		if n == 0 {
			continue
		}
		if other, ok := site[n]; ok {
			t.Fatalf("tick %d written for %s and for %s", n, other, in)
		}
		site[n] = in
		bySite[in] = append(bySite[in], n)
	}
	for _, c := range sites {
		link, err := os.Readlink(filepath.Join(targetDir(c), "latest"))
		if err != nil {
			t.Fatalf("%s: no latest link: %v", c, err)
		}
		newest := int64(0)
		for _, e := range readScrapes(t, files) {
			if filepath.Dir(e.dir) == targetDir(c) {
				ep, _ := strconv.ParseInt(filepath.Base(e.dir), 10, 64)
				newest = max(newest, ep)
			}
		}
		if link != strconv.FormatInt(newest, 10) {
			t.Fatalf("%s: latest -> %s, want its own newest scrape %d", c, link, newest)
		}
		if len(bySite[c]) < 5 {
			t.Fatalf("%s: ticks %v", c, bySite[c])
		}
	}
	t.Logf("ticks by site: %v", bySite)
}
