package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/edgerelay/edgerelay/internal/promtest"
)

// metaSink is a remote_write receiver keeping the latest metadata it was
// sent per family.
type metaSink struct {
	mu   sync.Mutex
	meta map[string]prompb.MetricMetadata
}

func (s *metaSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := readWrite(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	for _, m := range req.Metadata {
		s.meta[m.MetricFamilyName] = m
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// matches reports whether the sink holds the target's metadata as
// Prometheus announced it (families by their OpenMetrics names).
func (s *metaSink) matches() bool {
	want := map[string]prompb.MetricMetadata{
		"meta_temperature_celsius": {Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "meta_temperature_celsius", Help: "Temperature of the probe.", Unit: "celsius"},
		"meta_requests":            {Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "meta_requests", Help: "Requests handled, by code."},
		"meta_latency_seconds":     {Type: prompb.MetricMetadata_HISTOGRAM, MetricFamilyName: "meta_latency_seconds", Help: "Request latency.", Unit: "seconds"},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for fam, w := range want {
		g := s.meta[fam]
		if g.Type != w.Type || g.MetricFamilyName != w.MetricFamilyName || g.Help != w.Help || g.Unit != w.Unit {
			return false
		}
	}
	return true
}

// metaTarget is what the scraped target serves, in OpenMetrics so that it
// can say UNIT: a gauge and a histogram with units, a counter without.
const metaTarget = `# TYPE meta_temperature_celsius gauge
# UNIT meta_temperature_celsius celsius
# HELP meta_temperature_celsius Temperature of the probe.
meta_temperature_celsius{probe="a"} 21.5
# TYPE meta_requests counter
# HELP meta_requests Requests handled, by code.
meta_requests_total{code="200"} 17
# TYPE meta_latency_seconds histogram
# UNIT meta_latency_seconds seconds
# HELP meta_latency_seconds Request latency.
meta_latency_seconds_bucket{le="0.1"} 3
meta_latency_seconds_bucket{le="+Inf"} 5
meta_latency_seconds_sum 1.5
meta_latency_seconds_count 5
# EOF
`

// familyMeta is what a text exposition says of one family.
type familyMeta struct{ typ, help, unit string }

// wantMeta is metaTarget's metadata as the 0.0.4 text the cloud writes
// spells it: the counter under its series name.
var wantMeta = map[string]familyMeta{
	"meta_temperature_celsius": {"gauge", "Temperature of the probe.", "celsius"},
	"meta_requests_total":      {"counter", "Requests handled, by code.", ""},
	"meta_latency_seconds":     {"histogram", "Request latency.", "seconds"},
}

// textMeta reads the HELP and TYPE lines of an exposition with Prometheus'
// own 0.0.4 parser, and the UNIT lines (comments to that parser) by hand;
// it also returns the families that have samples.
func textMeta(t *testing.T, text []byte) (meta map[string]familyMeta, families map[string]bool) {
	t.Helper()
	meta, families = map[string]familyMeta{}, map[string]bool{}
	p := textparse.NewPromParser(append([]byte(nil), text...), labels.NewSymbolTable(), false)
	for {
		e, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, text)
		}
		switch e {
		case textparse.EntryHelp:
			name, help := p.Help()
			m := meta[string(name)]
			m.help = string(help)
			meta[string(name)] = m
		case textparse.EntryType:
			name, typ := p.Type()
			m := meta[string(name)]
			m.typ = string(typ)
			meta[string(name)] = m
		case textparse.EntrySeries:
			var ls labels.Labels
			p.Labels(&ls)
			name := ls.Get("__name__")
			for fam := range wantMeta {
				if name == fam || strings.HasPrefix(name, "meta_latency_seconds_") && fam == "meta_latency_seconds" {
					families[fam] = true
				}
			}
		}
	}
	for _, line := range strings.Split(string(text), "\n") {
		if rest, ok := strings.CutPrefix(line, "# UNIT "); ok {
			name, unit, _ := strings.Cut(rest, " ")
			m := meta[name]
			m.unit = unit
			meta[name] = m
		}
	}
	return meta, families
}

// metaMatches reports whether every family of want that has samples in the
// exposition has exactly its HELP, TYPE and UNIT there, and how many did.
func metaMatches(t *testing.T, text []byte) (ok bool, present int, why string) {
	meta, families := textMeta(t, text)
	for fam := range families {
		if got, want := meta[fam], wantMeta[fam]; got != want {
			return false, len(families), fmt.Sprintf("%s: %+v, want %+v", fam, got, want)
		}
	}
	return true, len(families), ""
}

// dataFiles returns every .data.gz below root, oldest scrape first (by its
// epoch_us name), decompressed.
func dataFiles(t *testing.T, root string) (names []string, texts [][]byte) {
	t.Helper()
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".data.gz") && !strings.Contains(p, ".tmp") {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Slice(paths, func(i, j int) bool { return filepath.Base(paths[i]) < filepath.Base(paths[j]) })
	for _, p := range paths {
		gz, err := os.ReadFile(p)
		if err != nil {
			continue // removed meanwhile
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		names, texts = append(names, p), append(texts, text)
	}
	return names, texts
}

// TestRemoteWriteMetadata runs a real Prometheus 2.42 scraping an
// OpenMetrics target with HELP, TYPE and UNIT and remote-writing into the
// edge with metadata sent every second (remote_write 1.0 sends metadata in
// requests of its own). The edge ships it to the cloud: the files of the
// target and /federate carry the target's HELP, TYPE and UNIT. Then the
// cloud restarts having lost its metadata: the edge sends its full set on
// the new connection and /federate has it again. The cloud's remote_write
// output forwards it. Last, a remote_write 2.0 request's per-series
// metadata reaches /federate too.
func TestRemoteWriteMetadata(t *testing.T) {
	promtest.Require(t, "it is the remote_write sender of this test")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		io.WriteString(w, metaTarget)
	}))
	t.Cleanup(target.Close)
	sink := &metaSink{meta: map[string]prompb.MetricMetadata{}}
	receiver := httptest.NewServer(sink)
	t.Cleanup(receiver.Close)
	env := newEnvWith(t, envOptions{noScrape: true, cloud: fmt.Sprintf(`  remote_write:
    - url: %s/api/v1/write
      metadata_config: {send_interval: 1s}
`, receiver.URL)})
	env.targetAddr = strings.TrimPrefix(target.URL, "http://")
	cloud := env.startCloud(t)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	startPrometheus(t, env.edgeHTTP, env.targetAddr)

	// Files: once a file of the target carries the metadata, every later one
	// does (files written before Prometheus' first metadata request may not).
	files := filepath.Join(env.dir, "files")
	waitFor(t, "a remote_write file of the target with its HELP, TYPE and UNIT", 60*time.Second, func() bool {
		_, texts := dataFiles(t, files)
		for _, text := range texts {
			if ok, n, _ := metaMatches(t, text); ok && n == len(wantMeta) {
				return true
			}
		}
		return false
	})
	waitFor(t, "files after that", 30*time.Second, func() bool { _, texts := dataFiles(t, files); return len(texts) >= 5 })
	names, texts := dataFiles(t, files)
	first := -1
	for i, text := range texts {
		ok, n, why := metaMatches(t, text)
		switch {
		case ok && n == len(wantMeta) && first < 0:
			first = i
		case first >= 0 && !ok:
			t.Fatalf("%s, written after %s, lacks metadata: %s\n%s", names[i], names[first], why, text)
		}
	}

	// /federate: HELP, TYPE and UNIT of the target's families.
	fed := "http://" + env.cloudHTTP + `/federate?match[]={__name__=~"meta_.*"}`
	federated := func() (bool, string) {
		code, body := httpGet(fed)
		if code != 200 {
			return false, fmt.Sprintf("federate: %d %s", code, body)
		}
		ok, n, why := metaMatches(t, []byte(body))
		if n != len(wantMeta) {
			return false, "not every family served yet:\n" + body
		}
		return ok, why + "\n" + body
	}
	if ok, why := federated(); !ok {
		t.Fatalf("/federate: %s", why)
	}
	// The cloud's remote_write output forwards it as Prometheus announced it.
	waitFor(t, "the target's metadata at the cloud's remote_write receiver", 30*time.Second, sink.matches)
	_, edgeMetrics := httpGet("http://" + env.edgeHTTP + "/metrics")
	for _, want := range []string{"edgerelay_metadata_families ", "edgerelay_metadata_refused_total 0"} {
		if !strings.Contains(edgeMetrics, want) {
			t.Errorf("edge /metrics lacks %q", want)
		}
	}
	if _, page := httpGet("http://" + env.edgeHTTP + "/"); !strings.Contains(page, "remote_write metadata") || !strings.Contains(page, "of at most 20000") {
		t.Errorf("edge status page lacks the remote_write metadata section:\n%s", page)
	}

	// The cloud restarts without its metadata state: what the edge sends
	// on the new connection restores it, though Prometheus' requests keep
	// announcing the same, unchanged metadata (which the edge does not
	// queue again).
	cloud.stop(t)
	if err := os.RemoveAll(filepath.Join(env.dir, "cloud", "metadata")); err != nil {
		t.Fatal(err)
	}
	cloud = env.startCloud(t)
	waitFor(t, "/federate with metadata after the cloud restarted", 60*time.Second, func() bool {
		ok, _ := federated()
		return ok
	})

	// remote_write 2.0 carries metadata with each series.
	sendV2WithMetadata(t, "http://"+env.edgeHTTP+"/api/v1/write")
	waitFor(t, "remote_write 2.0 metadata on /federate", 30*time.Second, func() bool {
		_, body := httpGet("http://" + env.cloudHTTP + `/federate?match[]={__name__="v2_queue_depth"}`)
		return strings.Contains(body, "# HELP v2_queue_depth Items waiting.\n# TYPE v2_queue_depth gauge\n# UNIT v2_queue_depth items\n")
	})

	edge.stop(t)
	cloud.stop(t)
}

// startPrometheus runs Prometheus scraping target every second and
// remote-writing to the edge, metadata every second, until the test ends.
func startPrometheus(t *testing.T, edgeHTTP, target string) {
	t.Helper()
	promtest.Start(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
- job_name: metatarget
  static_configs: [{targets: [%q]}]
remote_write:
- url: http://%s/api/v1/write
  queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
  metadata_config: {send: true, send_interval: 1s}
`, target, edgeHTTP))
}

// sendV2WithMetadata sends one remote_write 2.0 request: a gauge with its
// HELP and UNIT in the series' metadata.
func sendV2WithMetadata(t *testing.T, url string) {
	t.Helper()
	st := writev2.NewSymbolTable()
	refs := st.SymbolizeLabels(labels.FromStrings("__name__", "v2_queue_depth", "job", "v2", "instance", "client-2"), nil)
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{{
		LabelsRefs: refs,
		Samples:    []writev2.Sample{{Value: 3, Timestamp: time.Now().UnixMilli()}},
		Metadata: writev2.Metadata{
			Type: writev2.Metadata_METRIC_TYPE_GAUGE, HelpRef: st.Symbolize("Items waiting."), UnitRef: st.Symbolize("items"),
		},
	}}}
	req.Symbols = st.Symbols()
	mustWrite(t, url, req, "remote_write 2.0")
}
