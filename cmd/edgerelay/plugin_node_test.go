package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// nodeRelabel is the relabel stage both the edge and `plugin test` run in
// TestPluginTestMatchesEdgeOnNodeExporter: it reads labels a real
// node_exporter leaves empty (model, ifalias).
const nodeRelabel = `relabel_configs:
  - {source_labels: [__name__], regex: 'node_scrape_collector_.*', action: drop}
  - {source_labels: [device], target_label: dev}
  - {source_labels: [model], regex: '', target_label: model_known, replacement: 'no'}
  - {source_labels: [ifalias, device], separator: '@', regex: '@(.+)', target_label: unaliased, replacement: '$1'}
`

// TestPluginTestMatchesEdgeOnNodeExporter: a real node_exporter's scrape,
// empty label values and all, goes through builtin:relabel with fail_closed
// in `edgerelay plugin test` and is accepted; what it prints equals what the
// edge ships for the same scrape bytes through the same stage (the series
// and values of the scrape file the cloud writes, identity labels and the
// report series aside).
func TestPluginTestMatchesEdgeOnNodeExporter(t *testing.T) {
	neAddr := startNodeExporter(t)
	bin := buildBinary(t)
	dir := t.TempDir()

	// The edge scrapes node_exporter through this proxy, which keeps the
	// first answer's bytes and serves them again on every later scrape, so
	// every scrape the cloud writes is of the same bytes.
	var (
		mu          sync.Mutex
		body        []byte
		contentType string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if body == nil {
			req, _ := http.NewRequestWithContext(r.Context(), "GET", "http://"+neAddr+"/metrics", nil)
			req.Header.Set("Accept", r.Header.Get("Accept"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				http.Error(w, fmt.Sprint(resp.StatusCode, err), 502)
				return
			}
			body, contentType = b, resp.Header.Get("Content-Type")
		}
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}))
	t.Cleanup(proxy.Close)
	target := strings.TrimPrefix(proxy.URL, "http://")

	relabelFile := filepath.Join(dir, "relabel.yaml")
	os.WriteFile(relabelFile, []byte(nodeRelabel), 0o644)
	env := newEnvWith(t, envOptions{
		scrape: jobYAML("node", target, "1s", "900ms"),
		edge: `  plugins:
    - name: relabel
      module: builtin:relabel
      on_error: fail_closed
      config:
` + indent(nodeRelabel, "        "),
	})
	start(t, bin, "run", "--config", env.cloudConfig)
	start(t, bin, "run", "--config", env.edgeConfig)

	files := filepath.Join(env.dir, "files")
	var scrapes []scrapeFile
	waitFor(t, "a node_exporter scrape written by the cloud", 3*time.Minute, func() bool {
		scrapes = readScrapes(t, files)
		return len(scrapes) > 0
	})
	shipped := withoutIdentity(scrapes[0].samples)

	mu.Lock()
	captured, ct := body, contentType
	mu.Unlock()
	if !bytes.Contains(captured, []byte(`=""`)) {
		t.Logf("this node_exporter's scrape has no empty label value; the testdata capture covers them")
	}
	input := filepath.Join(dir, "scrape.txt")
	os.WriteFile(input, captured, 0o644)
	cmd := exec.Command(bin, "plugin", "test", "--plugin", "builtin:relabel", "--config", relabelFile, "--input", input, "--content-type", ct)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plugin test refused a real node_exporter scrape: %v\n%s", err, stderr.String())
	}
	tested := withoutIdentity(parseText(t, stdout.Bytes(), nil))

	if len(tested) == 0 || len(tested) != len(shipped) {
		t.Errorf("plugin test printed %d series, the edge shipped %d", len(tested), len(shipped))
	}
	var diffs []string
	for k, v := range tested {
		if w, ok := shipped[k]; !ok {
			diffs = append(diffs, "only in plugin test: "+k)
		} else if math.Float64bits(v) != math.Float64bits(w) {
			diffs = append(diffs, fmt.Sprintf("%s: plugin test %v, edge %v", k, v, w))
		}
	}
	for k := range shipped {
		if _, ok := tested[k]; !ok {
			diffs = append(diffs, "only shipped by the edge: "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d differences:\n%s", len(diffs), strings.Join(diffs[:min(len(diffs), 30)], "\n"))
	}
	if _, ok := tested[labels.FromStrings("__name__", "node_scrape_collector_success", "collector", "cpu").String()]; ok {
		t.Fatal("the relabel stage did not run")
	}
}

// withoutIdentity drops the labels the edge and cloud add (job, instance,
// site, tenant) and the scrape loop's report series.
func withoutIdentity(samples map[string]float64) map[string]float64 {
	out := map[string]float64{}
	p := labels.NewBuilder(labels.EmptyLabels())
	for k, v := range samples {
		ls, err := parser.NewParser(parser.Options{}).ParseMetric(k)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", k, err))
		}
		switch ls.Get("__name__") {
		case "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added":
			continue
		}
		p.Reset(ls)
		p.Del("job", "instance", "site", "tenant")
		out[p.Labels().String()] = v
	}
	return out
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	var sb strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			sb.WriteString(prefix + l)
		}
	}
	return sb.String()
}
