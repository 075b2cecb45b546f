package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/exemplar"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// tickTarget is a client_golang registry whose native histograms change
// between scrapes in every way the delta codec distinguishes — unchanged,
// counts growing, a new exemplar, new buckets, a series gone and back —
// and which remembers what it served in each scrape, numbered by the gauge
// tick it serves beside them.
type tickTarget struct {
	mu     sync.Mutex
	reg    *prometheus.Registry
	lat    prometheus.Histogram
	routes *prometheus.HistogramVec
	tick   prometheus.Gauge
	n      int
	served map[int]map[string]*dto.Metric // tick → histogram series key → what was served
}

func newTickTarget() *tickTarget {
	tt := &tickTarget{reg: prometheus.NewRegistry(), served: map[int]map[string]*dto.Metric{}}
	tt.lat = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "req_latency_seconds", Help: "Request latency.",
		NativeHistogramBucketFactor: 1.1, NativeHistogramZeroThreshold: 1e-6})
	tt.routes = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "route_seconds", Help: "Per route.",
		NativeHistogramBucketFactor: 1.5}, []string{"route"})
	tt.tick = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tick", Help: "Scrape number."})
	tt.reg.MustRegister(tt.lat, tt.routes, tt.tick)
	tt.lat.Observe(0.2)
	tt.routes.WithLabelValues("a").Observe(1)
	tt.routes.WithLabelValues("b").Observe(2)
	return tt
}

// Gather serves the registry as it is, records it, then changes it for the
// next scrape.
func (tt *tickTarget) Gather() ([]*dto.MetricFamily, error) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.n++
	tt.tick.Set(float64(tt.n))
	mfs, err := tt.reg.Gather()
	got := map[string]*dto.Metric{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m
		}
	}
	tt.served[tt.n] = got
	ex := func(v float64) {
		tt.lat.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": fmt.Sprintf("t%d", tt.n)})
	}
	switch tt.n % 6 {
	case 0: // unchanged next time
	case 1:
		tt.lat.Observe(0.2) // counts grow, same buckets
	case 2:
		ex(0.21)
	case 3:
		tt.lat.Observe(-float64(tt.n)) // a new negative bucket
		tt.routes.WithLabelValues("a").Observe(0)
	case 4:
		tt.routes.DeleteLabelValues("b") // gone: a staleness marker next scrape
	case 5:
		ex(1e-9) // zero bucket
		tt.routes.WithLabelValues("b").Observe(3)
	}
	return mfs, err
}

// servedAt returns what was served in scrape tick.
func (tt *tickTarget) servedAt(tick int) map[string]*dto.Metric {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.served[tick]
}

// TestNativeHistogramsEveryScrape: an edge scrapes a client_golang target
// whose native histograms and exemplars change from scrape to scrape (and
// a histogram series disappears and comes back); the scrapes travel as
// delta frames, and the cloud is restarted mid-way (its bases reload from
// disk). Every scrape the cloud writes holds in its .native.gz exactly the
// histograms and exemplars the target served in that scrape — no more, no
// fewer — as the tick gauge beside them in .data.gz identifies it. The same
// holds with delta encoding off (scrapes travel whole, block version 3).
func TestNativeHistogramsEveryScrape(t *testing.T) {
	bin := buildBinary(t)
	t.Run("delta", func(t *testing.T) { nativeEveryScrape(t, bin, "") })
	t.Run("whole", func(t *testing.T) {
		nativeEveryScrape(t, bin, "  plugins:\n    - module: builtin:delta\n      config: {disabled: true}\n")
	})
}

func nativeEveryScrape(t *testing.T, bin, plugins string) {
	tt := newTickTarget()
	target := httptest.NewServer(promhttp.HandlerFor(tt, promhttp.HandlerOpts{}))
	defer target.Close()

	env := newEnvWith(t, envOptions{
		scrape:     jobYAML("native", strings.TrimPrefix(target.URL, "http://"), "300ms", "250ms", "scrape_native_histograms: true"),
		edge:       plugins,
		maxBackoff: "500ms",
	})
	cloud := start(t, bin, "run", "--config", env.cloudConfig)
	start(t, bin, "run", "--config", env.edgeConfig)
	files := filepath.Join(env.dir, "files")

	waitFor(t, "8 scrapes written", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= 8 })
	cloud.stopWith(t, syscall.SIGTERM)
	cloud = start(t, bin, "run", "--config", env.cloudConfig)
	before := len(readScrapes(t, files))
	waitFor(t, "8 more scrapes after the cloud restarted", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= before+8 })
	cloud.stopWith(t, syscall.SIGTERM)
	// The scrapes went as delta frames, or whole when delta is off.
	if frames := metric(t, "http://"+env.edgeHTTP+"/metrics", "edgerelay_delta_frames_total"); (plugins == "") != (frames > 0) {
		t.Fatalf("edgerelay_delta_frames_total = %v with plugins %q", frames, plugins)
	}

	checked, withStale := 0, 0
	for _, sf := range readScrapes(t, files) {
		tick := -1
		for k, v := range sf.samples {
			if strings.HasPrefix(k, `{__name__="tick"`) {
				tick = int(v)
			}
		}
		want := tt.servedAt(tick)
		if want == nil {
			t.Fatalf("%s: tick %d was never served", sf.dir, tick)
		}
		got := readNative(t, sf.dir)
		if len(got) != len(want) {
			t.Errorf("%s (tick %d): %d histogram series, served %d: %v", sf.dir, tick, len(got), len(want), slices.Sorted(maps.Keys(got)))
			continue
		}
		if _, ok := want["route_seconds,route=b"]; !ok {
			withStale++
		}
		for key, m := range want {
			g, ok := got[key]
			if !ok {
				t.Errorf("%s (tick %d): %s missing", sf.dir, tick, key)
				continue
			}
			wh, wex := histtest.FromDTO(m, false)
			slices.SortFunc(wex, exemplar.Compare)
			if len(g.Histograms) != 1 || len(g.Samples) != 0 {
				t.Errorf("%s (tick %d) %s: %d histogram samples, %d floats", sf.dir, tick, key, len(g.Histograms), len(g.Samples))
				continue
			}
			if d := histtest.DiffHistogram(wh, g.Histograms[0].H); d != "" {
				t.Errorf("%s (tick %d) %s: %s", sf.dir, tick, key, d)
			}
			if d := histtest.DiffExemplars(wex, g.Exemplars); d != "" {
				t.Errorf("%s (tick %d) %s: %s", sf.dir, tick, key, d)
			}
		}
		checked++
	}
	if checked < 16 || withStale == 0 {
		t.Fatalf("checked %d scrapes (%d without route b); want at least 16 and some without", checked, withStale)
	}
	t.Logf("%d scrapes checked exactly, %d with a histogram series gone", checked, withStale)
}

// readNative parses the .native.gz of a scrape directory (none: no
// histograms) into histogram series keyed like tickTarget's.
func readNative(t *testing.T, dir string) map[string]relay.Series {
	t.Helper()
	out := map[string]relay.Series{}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.native.gz"))
	if len(paths) == 0 {
		return out
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	series, err := expfmt.ParseNative(text)
	if err != nil {
		t.Fatalf("%s: %v", paths[0], err)
	}
	for _, s := range series {
		key := s.Labels.Get("__name__")
		if r := s.Labels.Get("route"); r != "" {
			key += ",route=" + r
		}
		out[key] = s
	}
	return out
}
