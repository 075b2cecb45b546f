package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// scriptedTarget serves a scrape that is a pure function of its tick
// number N, counting from 1 and incremented per scrape: scripted_tick N and
// a set of series that changes from tick to tick, so Prometheus' scrape
// code appends staleness markers for the series that went away.
type scriptedTarget struct{ n atomic.Int64 }

func (s *scriptedTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := s.n.Add(1)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	b.WriteString("# TYPE scripted_tick gauge\n")
	for _, sr := range scriptedTick(n) {
		fmt.Fprintf(&b, "%s %s\n", sr.text, strconv.FormatFloat(sr.v, 'g', -1, 64))
	}
	io.WriteString(w, b.String())
}

// scriptedSeries is one series of a tick: as served, its labels, its value.
type scriptedSeries struct {
	text string
	lset labels.Labels
	v    float64
}

// scriptedTick is what the scripted target serves at tick n.
func scriptedTick(n int64) []scriptedSeries {
	var out []scriptedSeries
	add := func(v float64, name string, kv ...string) {
		text := name
		if len(kv) > 0 {
			var parts []string
			for i := 0; i < len(kv); i += 2 {
				parts = append(parts, fmt.Sprintf("%s=%q", kv[i], kv[i+1]))
			}
			text += "{" + strings.Join(parts, ",") + "}"
		}
		out = append(out, scriptedSeries{text, labels.FromStrings(append([]string{"__name__", name}, kv...)...), v})
	}
	add(float64(n), "scripted_tick")
	for i := int64(0); i < 30; i++ {
		// Each tick about a third of these differ from the tick before.
		if (n+i)%4 != 0 && !(i%7 == 3 && n%2 == 1) {
			add(float64(n*1000+i)+0.5, "scripted_churn", "id", strconv.FormatInt(i, 10))
		}
	}
	if n%3 == 0 {
		add(-float64(n), "scripted_blink", "phase", "third")
	}
	if n%2 == 0 {
		add(math.NaN(), "scripted_nan") // a served NaN is a value, not a marker
	}
	return out
}

// reportSeries are the series Prometheus' scrape code adds to each scrape.
var reportSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}

// filesConfigs writes a cloud config (with remote_write to rwURL when not
// empty) and one edge config per site, every edge scraping target.
func filesConfigs(t *testing.T, dir, target, rwURL string, sites ...string) (cloudConfig, cloudHTTP string, edgeConfigs, edgeHTTP []string) {
	cloudHTTP, quic := freePort(t, "tcp"), freePort(t, "udp")
	cloudConfig = filepath.Join(dir, "cloud.yaml")
	cfg := fmt.Sprintf("cloud:\n  quic_listen: %s\n  http_listen: %s\n  data_dir: %s/cloud\n  files_dir: %s/files\n", quic, cloudHTTP, dir, dir)
	if rwURL != "" {
		cfg += fmt.Sprintf("  remote_write:\n    - url: %s\n", rwURL)
	}
	if err := os.WriteFile(cloudConfig, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, site := range sites {
		h := freePort(t, "tcp")
		p := filepath.Join(dir, site+".yaml")
		err := os.WriteFile(p, fmt.Appendf(nil, `
edge:
  tenant: acme
  site: %s
  data_dir: %s/edge-%s
  http_listen: %s
  scrape_configs:
    - job_name: scripted
      scrape_interval: 200ms
      scrape_timeout: 150ms
      static_configs: [{targets: [%q]}]
  upstream:
    address: %s
    server_name: localhost
    insecure_skip_verify: true
    max_backoff: 500ms
`, site, dir, site, h, target, quic), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		edgeConfigs, edgeHTTP = append(edgeConfigs, p), append(edgeHTTP, h)
	}
	return cloudConfig, cloudHTTP, edgeConfigs, edgeHTTP
}

// checkScriptedFile checks that one scrape directory holds exactly the tick
// it names, with identity's labels on every series: no series the target
// did not serve in that tick (a staleness marker written as a value would
// be one), none missing, every value bit for bit, and the report series.
// It returns the tick, or 0 for a failed scrape (up 0, nothing served).
func checkScriptedFile(t *testing.T, s scrapeFile, identity map[string]string) int64 {
	t.Helper()
	key := func(ls labels.Labels) string {
		b := labels.NewBuilder(ls)
		for k, v := range identity {
			b.Set(k, v)
		}
		return b.Labels().String()
	}
	want := map[string]float64{}
	tick, ok := s.samples[labelsWith(identity, "__name__", "scripted_tick")]
	if ok {
		for _, sr := range scriptedTick(int64(tick)) {
			want[key(sr.lset)] = sr.v
		}
	}
	for _, name := range reportSeries {
		k := labelsWith(identity, "__name__", name)
		if v, ok := s.samples[k]; ok {
			want[k] = v // the scrape's own figures; their presence is what counts
		}
	}
	if up := s.samples[labelsWith(identity, "__name__", "up")]; (up == 1) != ok {
		t.Fatalf("%s: up = %v with scripted_tick present = %v", s.dir, up, ok)
	}
	if v := s.samples[labelsWith(identity, "__name__", "scrape_samples_scraped")]; ok && v != float64(len(scriptedTick(int64(tick)))) {
		t.Fatalf("%s: scrape_samples_scraped = %v, tick %v served %d", s.dir, v, tick, len(scriptedTick(int64(tick))))
	}
	var extra, missing []string
	for k, v := range s.samples {
		w, ok := want[k]
		switch {
		case !ok:
			extra = append(extra, fmt.Sprintf("%s %v", k, v))
		case math.IsNaN(w) && (!math.IsNaN(v) || value.IsStaleNaN(v)),
			!math.IsNaN(w) && math.Float64bits(v) != math.Float64bits(w):
			t.Fatalf("%s: tick %v: %s = %v, served %v", s.dir, tick, k, v, w)
		}
	}
	for k := range want {
		if _, ok := s.samples[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(extra) > 0 || len(missing) > 0 {
		sort.Strings(extra)
		sort.Strings(missing)
		t.Fatalf("%s: tick %v: series the target did not serve: %q; served but missing: %q", s.dir, tick, extra, missing)
	}
	return int64(tick)
}

// staleSink is a remote_write receiver recording every sample by series.
type staleSink struct {
	mu  sync.Mutex
	got map[string]map[int64]uint64 // series → timestamp → value bits
}

func (s *staleSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		s.got = map[string]map[int64]uint64{}
	}
	for _, ts := range req.Timeseries {
		b := labels.NewScratchBuilder(len(ts.Labels))
		for _, l := range ts.Labels {
			if l.Name != "site" && l.Name != "tenant" && l.Name != "job" && l.Name != "instance" {
				b.Add(l.Name, l.Value)
			}
		}
		b.Sort()
		k := b.Labels().String()
		if s.got[k] == nil {
			s.got[k] = map[int64]uint64{}
		}
		for _, smp := range ts.Samples {
			s.got[k][smp.Timestamp] = math.Float64bits(smp.Value)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkMarkersForwarded checks what the cloud's remote_write output got
// against the script: a staleness marker at the scrape of tick N for every
// series served at N-1 and not at N (both ticks received), and for no
// other. It returns the number of markers.
func (s *staleSink) checkMarkersForwarded(t *testing.T) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	tickAt := map[int64]int64{}
	timeOf := map[int64]int64{}
	for ts, bits := range s.got[labels.FromStrings("__name__", "scripted_tick").String()] {
		if !value.IsStaleNaN(math.Float64frombits(bits)) {
			tickAt[ts], timeOf[int64(math.Float64frombits(bits))] = int64(math.Float64frombits(bits)), ts
		}
	}
	served := func(n int64) map[string]bool {
		m := map[string]bool{}
		for _, sr := range scriptedTick(n) {
			m[sr.lset.String()] = true
		}
		return m
	}
	markers := 0
	for k, samples := range s.got {
		if !strings.HasPrefix(k, `{__name__="scripted_`) {
			continue
		}
		for ts, bits := range samples {
			if !value.IsStaleNaN(math.Float64frombits(bits)) {
				continue
			}
			markers++
			n, ok := tickAt[ts]
			if !ok {
				continue // the edge's end of run, or a scrape without a tick
			}
			if served(n)[k] || !served(n - 1)[k] {
				t.Fatalf("remote_write got a staleness marker for %s at tick %d: served there %v, at the tick before %v", k, n, served(n)[k], served(n - 1)[k])
			}
		}
	}
	for n, ts := range timeOf {
		if _, ok := timeOf[n-1]; !ok {
			continue
		}
		now := served(n)
		for k := range served(n - 1) {
			if !now[k] && !value.IsStaleNaN(math.Float64frombits(s.got[k][ts])) {
				t.Fatalf("remote_write got no staleness marker for %s at tick %d, which no longer served it", k, n)
			}
		}
	}
	return markers
}

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
	edge.stop(t)
	cloud.stop(t)

	scrapes := readScrapes(t, files)
	var ticks []int64
	failed := 0
	for _, s := range scrapes {
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
