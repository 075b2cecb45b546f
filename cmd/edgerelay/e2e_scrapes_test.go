package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// scrapeFile is one scrape directory written by the cloud.
type scrapeFile struct {
	dir     string
	meta    map[string]any
	samples map[string]float64 // full label set (kvs merged) → value
}

func readScrapes(t *testing.T, root string) []scrapeFile {
	t.Helper()
	var out []scrapeFile
	// <tenant>/<site>/<target>/<epoch_us>/<epoch_us>.json
	jsons, _ := filepath.Glob(filepath.Join(root, "*", "*", "*", "*", "*.json"))
	for _, j := range jsons {
		if strings.Contains(j, ".tmp") || filepath.Base(filepath.Dir(j)) == "latest" {
			continue
		}
		b, err := os.ReadFile(j)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatalf("%s: %v", j, err)
		}
		gz, err := os.ReadFile(strings.TrimSuffix(j, ".json") + ".data.gz")
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		kvs := map[string]string{}
		if m, ok := meta["kvs"].(map[string]any); ok {
			for k, v := range m {
				kvs[k] = v.(string)
			}
		}
		out = append(out, scrapeFile{dir: filepath.Dir(j), meta: meta, samples: parseText(t, text, kvs)})
	}
	return out
}

// parseText parses Prometheus text exposition into "labels" → value, adding extra labels.
func parseText(t *testing.T, text []byte, extra map[string]string) map[string]float64 {
	t.Helper()
	p, err := textparse.New(text, "text/plain", labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for {
		et, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v\n%s", err, text)
		}
		if et != textparse.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		var ls labels.Labels
		p.Labels(&ls)
		b := labels.NewBuilder(ls)
		for k, val := range extra {
			b.Set(k, val)
		}
		out[b.Labels().String()] = v
	}
	return out
}

// expectSynth checks that samples hold exactly what the synthetic target
// served in the scrape they name.
func expectSynth(t *testing.T, where string, samples map[string]float64, identity map[string]string) int64 {
	t.Helper()
	withID := func(kv ...string) string {
		b := labels.NewBuilder(labels.FromStrings(kv...))
		for k, v := range identity {
			b.Set(k, v)
		}
		return b.Labels().String()
	}
	nv, ok := samples[withID("__name__", "synth_scrape_number")]
	if !ok {
		keys := make([]string, 0, len(samples))
		for k := range samples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("%s: no synth_scrape_number with identity %v; have %v", where, identity, keys)
	}
	n := int64(nv)
	for i := 0; i < 20; i++ {
		key := withID("__name__", "synth_requests_total", "id", fmt.Sprint(i), "path", "/api/v1/item")
		if got, want := samples[key], synth.Counter(n, i); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: scrape %d: %s = %v, want %v", where, n, key, got, want)
		}
		key = withID("__name__", "synth_temperature_celsius", "sensor", fmt.Sprintf("s%d", i))
		if got, want := samples[key], synth.Gauge(n, i); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s: scrape %d: %s = %v, want %v", where, n, key, got, want)
		}
	}
	return n
}

func labelsWith(extra map[string]string, kv ...string) string {
	b := labels.NewBuilder(labels.FromStrings(kv...))
	for k, v := range extra {
		b.Set(k, v)
	}
	return b.Labels().String()
}

func sendRemoteWrite(t *testing.T, url string, n int) {
	t.Helper()
	now := time.Now().UnixMilli()
	req := &prompb.WriteRequest{}
	for i := 0; i < n; i++ {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "rw_numbered"}, {Name: "instance", Value: "client-1"},
				{Name: "job", Value: "rw"}, {Name: "n", Value: fmt.Sprint(i)},
			},
			Samples: []prompb.Sample{{Timestamp: now, Value: float64(i) * 1.5}},
		})
	}
	mustWrite(t, url, req, "remote_write")
}
