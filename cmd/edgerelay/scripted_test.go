package main

// The scripted target of the TestFiles tests: every scrape a pure function
// of its tick number, with churning series, and the checks that compare
// what the cloud wrote and forwarded against it.

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
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
	req, ok := readWrite(w, r)
	if !ok {
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
