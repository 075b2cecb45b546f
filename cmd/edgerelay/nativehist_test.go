package main

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// protoAccept is the Accept header of a Prometheus with native histograms on.
const protoAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3"

// nativeHist is a native histogram with its exemplars as Prometheus' own
// parser reads it.
type nativeHist struct {
	lset labels.Labels
	h    *histogram.Histogram
	ex   []exemplar.Exemplar
}

// parseNativeHists reads every native histogram of a protobuf exposition
// with Prometheus' parser, its exemplars sorted as Prometheus' scrape
// appends them.
func parseNativeHists(t *testing.T, body []byte, contentType string) map[string]nativeHist {
	t.Helper()
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]nativeHist{}
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("parse exposition: %v", err)
		}
		if e != textparse.EntryHistogram {
			continue
		}
		var nh nativeHist
		_, _, h, _ := p.Histogram()
		if h == nil {
			continue
		}
		nh.h = h.Copy()
		p.Labels(&nh.lset)
		var ex exemplar.Exemplar
		for p.Exemplar(&ex) {
			nh.ex = append(nh.ex, ex)
			ex = exemplar.Exemplar{}
		}
		slices.SortFunc(nh.ex, exemplar.Compare)
		out[nh.lset.Get("__name__")] = nh
	}
}

func fetch(t *testing.T, u, accept string) ([]byte, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body, resp.Header.Get("Content-Type")
}

// sameHist reports whether got equals want, exemplars included (as sets:
// a relay needs not keep their order).
func sameHist(got, want nativeHist, wantTenant bool) string {
	if !got.h.Equals(want.h) {
		return fmt.Sprintf("histogram %v, want %v", got.h, want.h)
	}
	g, w := slices.Clone(got.ex), slices.Clone(want.ex)
	slices.SortFunc(g, exemplar.Compare)
	if len(g) != len(w) {
		return fmt.Sprintf("%d exemplars, want %d", len(g), len(w))
	}
	for i := range w {
		if !g[i].Equals(w[i]) {
			return fmt.Sprintf("exemplar %v, want %v", g[i], w[i])
		}
	}
	if wantTenant && got.lset.Get("tenant") != "acme" {
		return fmt.Sprintf("labels %s lack tenant acme", got.lset)
	}
	return ""
}

// TestPrometheusNativeHistogramsEndToEnd: an edge scrapes a client_golang
// target exposing a native histogram with exemplars, and each of the
// cloud's outputs holds exactly the histogram and exemplars Prometheus'
// parser reads from the target — the scrape's .native.gz, /federate in the
// protobuf format, and a remote_write endpoint; and a real Prometheus 2.42 scraping the cloud's
// /federate stores the same histogram (its query API: count, sum, every
// bucket).
func TestPrometheusNativeHistogramsEndToEnd(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "req_latency_seconds", Help: "Request latency.",
		NativeHistogramBucketFactor: 1.1, NativeHistogramZeroThreshold: 1e-6,
	})
	reg.MustRegister(h)
	for i, v := range []float64{0.003, 0.2, 0.2, 1.7, -0.5, 0, 42, 1e-9, 0.75} {
		if i%3 == 0 {
			h.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": strings.Repeat("ab", i+1)})
		} else {
			h.Observe(v)
		}
	}
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	defer target.Close()
	tb, tct := fetch(t, target.URL, protoAccept)
	want := parseNativeHists(t, tb, tct)["req_latency_seconds"]
	if want.h == nil || len(want.ex) == 0 || len(want.h.NegativeBuckets) == 0 {
		t.Fatalf("the target exposes too little to test: %+v", want)
	}

	var mu sync.Mutex
	var received []prompb.TimeSeries
	rw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := readWrite(w, r)
		if !ok {
			return
		}
		mu.Lock()
		received = append(received, req.Timeseries...)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rw.Close()

	env := newEnvWith(t, envOptions{
		scrape: jobYAML("native", strings.TrimPrefix(target.URL, "http://"), "500ms", "400ms", "scrape_native_histograms: true"),
		cloud: fmt.Sprintf(`  remote_write:
    - url: %s
      send_native_histograms: true
      send_exemplars: true
`, rw.URL),
	})
	dir, cloudHTTP := env.dir, env.cloudHTTP
	start(t, env.bin, "run", "--config", env.cloudConfig)
	start(t, env.bin, "run", "--config", env.edgeConfig)

	// Files: the scrape's .native.gz.
	var natives []string
	waitFor(t, "a .native.gz file", 60*time.Second, func() bool {
		natives, _ = filepath.Glob(filepath.Join(dir, "files", "acme", "plant-7", "*", "[0-9]*", "*.native.gz"))
		return len(natives) > 0
	})
	f, err := os.Open(natives[0])
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(zr)
	f.Close()
	series, err := expfmt.ParseNative(text)
	if err != nil || len(series) != 1 || len(series[0].Histograms) != 1 {
		t.Fatalf("%s: %v\n%s", natives[0], err, text)
	}
	got := nativeHist{lset: series[0].Labels, h: series[0].Histograms[0].H, ex: series[0].Exemplars}
	if d := sameHist(got, want, true); got.h == nil || d != "" {
		t.Fatalf("files: %s\n%s", d, text)
	}

	// /federate, negotiated as Prometheus with native histograms does.
	// The files output may finish before /federate's store has the same scrape, so wait for it too.
	var fed nativeHist
	var ok bool
	waitFor(t, "the histogram on /federate", 30*time.Second, func() bool {
		body, ct := fetch(t, "http://"+cloudHTTP+"/federate?match[]="+url.QueryEscape(`{tenant="acme"}`), protoAccept)
		fed, ok = parseNativeHists(t, body, ct)["req_latency_seconds"]
		return ok
	})
	if fed.lset.Get("site") != "plant-7" {
		t.Fatalf("/federate: no histogram, or wrong labels: %+v", fed)
	}
	if d := sameHist(fed, want, true); d != "" {
		t.Fatalf("/federate: %s", d)
	}

	// remote_write.
	waitFor(t, "the histogram at the remote_write endpoint", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, ts := range received {
			if len(ts.Histograms) > 0 {
				return true
			}
		}
		return false
	})
	mu.Lock()
	for _, ts := range received {
		if len(ts.Histograms) == 0 {
			continue
		}
		var sb labels.ScratchBuilder
		rg := nativeHist{lset: ts.ToLabels(&sb, nil), h: ts.Histograms[0].ToIntHistogram()}
		for _, pe := range ts.Exemplars {
			rg.ex = append(rg.ex, pe.ToExemplar(&sb, nil))
		}
		if d := sameHist(rg, want, true); ts.Histograms[0].IsFloatHistogram() || d != "" {
			t.Errorf("remote_write: %s", d)
		}
		break
	}
	mu.Unlock()

	// A real Prometheus scraping the cloud's /federate stores it exactly.
	promtest.Require(t, "the outputs were checked, the real scraper was not")
	prom := promtest.Start(t, fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {'match[]': ['{tenant="acme"}']}
    static_configs: [{targets: [%q]}]
`, cloudHTTP), "--enable-feature=native-histograms")
	var res []struct {
		Histogram [2]json.RawMessage `json:"histogram"`
	}
	waitFor(t, "the histogram in Prometheus", 30*time.Second, func() bool {
		return prom.Query(`req_latency_seconds{tenant="acme"}`, &res) && len(res) == 1 && res[0].Histogram[1] != nil
	})
	if d := promtest.DiffHistogram(res[0].Histogram[1], want.h.ToFloat(nil)); d != "" {
		t.Fatalf("Prometheus: %s", d)
	}
}
