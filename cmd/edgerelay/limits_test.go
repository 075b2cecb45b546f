package main

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// explodingTarget serves perScrape series never seen before in every
// scrape: a series explosion.
type explodingTarget struct {
	perScrape int
	n         atomic.Int64
}

func (e *explodingTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := e.n.Add(1)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "# TYPE flood_series gauge\n")
	for i := range e.perScrape {
		fmt.Fprintf(bw, "flood_series{scrape=\"%d\",i=\"%d\",pad=\"%s\"} %d\n", n, i, "abcdefghijklmnopqrstuvwxyz0123456789", i)
	}
}

// rssKiB returns the VmRSS of process pid in KiB.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// sendBadLabels remote-writes n series with a 3000-byte label value and n
// series with 40 labels to the edge at url, which takes them (the edge has
// no such limits): the cloud refuses them.
func sendBadLabels(t *testing.T, url string, n int) {
	t.Helper()
	now := time.Now().UnixMilli()
	req := &prompb.WriteRequest{}
	for i := range n {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "long_value"}, {Name: "i", Value: fmt.Sprint(i)},
				{Name: "instance", Value: "c"}, {Name: "job", Value: "rw"}, {Name: "v", Value: strings.Repeat("x", 3000)},
			},
			Samples: []prompb.Sample{{Timestamp: now, Value: 1}},
		})
		many := []prompb.Label{{Name: "__name__", Value: "many_labels"}, {Name: "i", Value: fmt.Sprint(i)}, {Name: "instance", Value: "c"}, {Name: "job", Value: "rw"}}
		for j := range 36 {
			many = append(many, prompb.Label{Name: fmt.Sprintf("l%02d", j), Value: "v"})
		}
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: many, Samples: []prompb.Sample{{Timestamp: now, Value: 1}}})
	}
	mustWrite(t, url, req, "remote_write of long labels")
}

// TestTenantLimits: tenant flood's edge explodes series (thousands of new
// series per scrape) and remote-writes oversized label sets, while tenant
// good's edge scrapes as usual. The cloud stays up, holds flood to its
// max_series, refuses the rest counted by tenant and reason, slows flood's
// edge at its max_bytes_per_second, its RSS stays within a bound derived
// from the limits, and every scrape of good arrives exactly.
func TestTenantLimits(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	good := &synth.Target{Series: 20}
	goodSrv := httptest.NewServer(good)
	t.Cleanup(goodSrv.Close)
	bomb := &explodingTarget{perScrape: 3000}
	bombSrv := httptest.NewServer(bomb)
	t.Cleanup(bombSrv.Close)

	const maxSeries, maxBaseSeries = 2000, 4000
	quic, cloudHTTP := freePort(t, "udp"), freePort(t, "tcp")
	for _, tn := range []string{"good", "flood"} {
		os.WriteFile(filepath.Join(dir, tn+".token"), []byte("token-of-"+tn+"\n"), 0o600)
	}
	cloudCfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cloudCfg, fmt.Appendf(nil, `
cloud:
  quic_listen: %[1]s
  http_listen: %[2]s
  data_dir: %[3]s/cloud
  files_dir: %[3]s/files
  tenants:
    - name: good
      token_file: %[3]s/good.token
    - name: flood
      token_file: %[3]s/flood.token
      limits:
        max_series: %[4]d
        max_base_series: %[5]d
        max_bytes_per_second: 16KiB
`, quic, cloudHTTP, dir, maxSeries, maxBaseSeries), 0o644)
	edgeCfg := func(tenant, target, httpAddr string) string {
		p := filepath.Join(dir, tenant+"-edge.yaml")
		os.WriteFile(p, fmt.Appendf(nil, `
edge:
  tenant: %[1]s
  site: site-1
  data_dir: %[2]s/edge-%[1]s
  http_listen: %[3]s
  scrape_configs:
    - job_name: synth
      scrape_interval: 500ms
      scrape_timeout: 400ms
      static_configs: [{targets: [%[4]q]}]
  upstream:
    address: %[5]s
    server_name: localhost
    insecure_skip_verify: true
    token_file: %[2]s/%[1]s.token
    max_backoff: 1s
`, tenant, dir, httpAddr, target, quic), 0o644)
		return p
	}
	goodHTTP, floodHTTP := freePort(t, "tcp"), freePort(t, "tcp")
	goodEdgeCfg := edgeCfg("good", strings.TrimPrefix(goodSrv.URL, "http://"), goodHTTP)
	floodEdgeCfg := edgeCfg("flood", strings.TrimPrefix(bombSrv.URL, "http://"), floodHTTP)

	cloud := start(t, bin, "run", "--config", cloudCfg)
	waitFor(t, "cloud ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + cloudHTTP + "/-/ready"); return c == 200 })
	start(t, bin, "run", "--config", goodEdgeCfg)
	files := filepath.Join(dir, "files")
	waitFor(t, "good's first scrapes", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= 2 })
	pid := cloud.cmd.Process.Pid
	baseline := rssKiB(t, pid)

	// The flood starts: remote_write first, then the exploding scrapes.
	flood := start(t, bin, "run", "--config", floodEdgeCfg)
	waitFor(t, "flood edge ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + floodHTTP + "/-/ready"); return c == 200 })
	const badSeries = 50
	sendBadLabels(t, "http://"+floodHTTP+"/api/v1/write", badSeries)

	metrics := func() map[string]float64 {
		code, body := httpGet("http://" + cloudHTTP + "/metrics")
		if code != 200 {
			t.Fatalf("cloud /metrics: %d (is the cloud up?)", code)
		}
		return parseText(t, []byte(body), nil)
	}
	refused := func(m map[string]float64, tenant, reason string) float64 {
		return m[fmt.Sprintf(`{__name__="edgerelay_cloud_refused_samples_total", reason=%q, tenant=%q}`, reason, tenant)]
	}
	floodStart := time.Now()
	var peak int64
	for time.Since(floodStart) < 15*time.Second {
		peak = max(peak, rssKiB(t, pid))
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, "the oversized label sets refused at the cloud", 30*time.Second, func() bool {
		peak = max(peak, rssKiB(t, pid))
		m := metrics()
		return refused(m, "flood", "label_value_too_long") >= badSeries && refused(m, "flood", "max_labels_per_series") >= badSeries
	})
	// The flood's edge was told, with the acknowledgements.
	var edgeRefused float64
	waitFor(t, "the flood edge told of its refused samples", 10*time.Second, func() bool {
		_, body := httpGet("http://" + floodHTTP + "/metrics")
		edgeRefused = parseText(t, []byte(body), nil)[`{__name__="edgerelay_uplink_refused_samples_total"}`]
		return edgeRefused >= 2*badSeries
	})
	floodScrapes := bomb.n.Load()
	if err := flood.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-flood.done
	goodScrapes := good.Scrapes()

	// Every scrape good's target served up to now arrives, exactly. A
	// scrape the edge gave up on (the target answered too late on a loaded
	// machine) is written as up 0 alone and may account for one number.
	goodDir := filepath.Join(files, "good")
	goodID := map[string]string{"job": "synth", "instance": strings.TrimPrefix(goodSrv.URL, "http://"), "site": "site-1", "tenant": "good"}
	var nums map[int64]bool
	var samples, failed, missing int
	var first, last float64
	waitFor(t, "every scrape of tenant good", 30*time.Second, func() bool {
		nums, samples, failed, missing, first, last = map[int64]bool{}, 0, 0, 0, math.Inf(1), math.Inf(-1)
		for _, s := range readScrapes(t, files) {
			if !strings.HasPrefix(s.dir, goodDir+string(filepath.Separator)) {
				continue
			}
			ts, _ := s.meta["dts"].(float64)
			first, last = min(first, ts), max(last, ts)
			samples += len(s.samples)
			if failedScrape(s.samples, goodID) {
				failed++
				continue
			}
			nums[expectSynth(t, s.dir, s.samples, goodID)] = true
		}
		for n := int64(1); n <= goodScrapes; n++ {
			if !nums[n] {
				missing++
			}
		}
		return missing <= failed
	})

	select {
	case <-cloud.done:
		cloud.mu.Lock()
		defer cloud.mu.Unlock()
		t.Fatalf("the cloud exited: %v\n%s", cloud.err, cloud.logs)
	default:
	}
	m := metrics()
	if got := refused(m, "flood", "per_tenant_series_limit"); got <= 0 {
		t.Errorf("no samples of flood refused at its series limit")
	}
	if got := m[`{__name__="edgerelay_cloud_active_series", tenant="flood"}`]; got != maxSeries {
		t.Errorf("flood's active series = %v, want its max_series %d", got, maxSeries)
	}
	if got := m[`{__name__="edgerelay_cloud_limit_max_series", tenant="flood"}`]; got != maxSeries {
		t.Errorf("edgerelay_cloud_limit_max_series{tenant=flood} = %v", got)
	}
	if got := m[`{__name__="edgerelay_cloud_limit_max_series", tenant="good"}`]; got != 200000 {
		t.Errorf("edgerelay_cloud_limit_max_series{tenant=good} = %v, want the default 200000", got)
	}
	if got := m[`{__name__="edgerelay_cloud_throttled_seconds_total", limit="max_bytes_per_second", tenant="flood"}`]; got <= 0 {
		t.Errorf("flood's edge was never slowed at its max_bytes_per_second")
	}
	if _, page := httpGet("http://" + cloudHTTP + "/"); !strings.Contains(page, "Limits per tenant") || !strings.Contains(page, fmt.Sprintf("series %d of %d", maxSeries, maxSeries)) {
		t.Errorf("the status page does not show flood at its series limit:\n%s", page)
	}
	for k, v := range m {
		if strings.Contains(k, `tenant="good"`) && (strings.Contains(k, "refused") || strings.Contains(k, "throttled")) && v != 0 {
			t.Errorf("tenant good refused or slowed: %s = %v", k, v)
		}
	}
	// The bound: what the cloud held before the flood, plus flood's state
	// at its limits — max_series active series (tracker, /federate) and
	// max_base_series in its delta bases, at most 2 KiB each with label
	// strings and map overhead — plus 32 MiB for blocks in flight and the
	// heap's growth before a collection. The race detector doubles memory.
	// Without the limits the same flood takes the cloud past it within
	// seconds (measured: +136 MiB in 15 s under -race).
	bound := baseline + (maxSeries+maxBaseSeries)*2 + 32<<10
	if raceEnabled {
		bound = baseline + 2*(bound-baseline)
	}
	if peak > bound {
		t.Errorf("cloud RSS peaked at %d KiB, over the bound %d KiB (baseline %d KiB)", peak, bound, baseline)
	}
	secs := (last - first) / 1000
	if _, body := httpGet("http://" + goodHTTP + "/metrics"); parseText(t, []byte(body), nil)[`{__name__="edgerelay_uplink_refused_samples_total"}`] != 0 {
		t.Errorf("tenant good's edge was told of refused samples")
	}
	t.Logf("flood's edge counted %.0f samples refused at the cloud", edgeRefused)
	t.Logf("flood: %d scrapes of %d new series; refused at the cloud: series limit %.0f, long values %.0f, many labels %.0f samples; flood's edge slowed %.1fs; bases dropped %.0f; %.0f bytes received from flood",
		floodScrapes, bomb.perScrape, refused(m, "flood", "per_tenant_series_limit"), refused(m, "flood", "label_value_too_long"), refused(m, "flood", "max_labels_per_series"),
		m[`{__name__="edgerelay_cloud_throttled_seconds_total", limit="max_bytes_per_second", tenant="flood"}`], m[`{__name__="edgerelay_cloud_delta_bases_dropped_total", tenant="flood"}`],
		m[`{__name__="edgerelay_cloud_site_received_bytes_total", site="site-1", tenant="flood"}`])
	t.Logf("good: %d scrapes, all exact (%d failed at the edge), %d samples in %.1fs = %.0f samples/s; cloud RSS baseline %d KiB, peak %d KiB, bound %d KiB",
		goodScrapes, failed, samples, secs, float64(samples)/secs, baseline, peak, bound)
}
