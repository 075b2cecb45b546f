package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/ingest"
)

// workload is a sequence of scrapes, each one relay.Batch, fed unchanged to
// every scheme.
type workload struct {
	name    string
	scrapes []*relay.Batch
	// targets is how many targets the scrapes are of, in turn: the first
	// scrape of each is full, the rest steady state. 0 means 1.
	targets int
}

// firstScrapes is how many scrapes, from the start, are their target's first.
func (w *workload) firstScrapes() int { return max(1, w.targets) }

func (w *workload) samples(from int) int {
	n := 0
	for _, b := range w.scrapes[from:] {
		n += b.Samples()
	}
	return n
}

// loadNodeExporter reads dir/scrape-<unix ms>.prom[.gz] files in timestamp
// order and parses each with Prometheus' text parser, adding the job and
// instance labels a Prometheus scrape adds.
func loadNodeExporter(dir string) (*workload, error) {
	files, err := filepath.Glob(filepath.Join(dir, "scrape-*.prom*"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no scrape-*.prom files in %q", dir)
	}
	sort.Strings(files)
	w := &workload{name: "node_exporter"}
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".gz"), ".prom")
		ts, err := strconv.ParseInt(strings.TrimPrefix(base, "scrape-"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("timestamp of %q: %w", f, err)
		}
		body, err := readMaybeGzip(f)
		if err != nil {
			return nil, err
		}
		b, err := parseText(body, ts, "node", "127.0.0.1:9100")
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", f, err)
		}
		w.scrapes = append(w.scrapes, b)
	}
	return w, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(path, ".gz") {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gunzip %q: %w", path, err)
	}
	return io.ReadAll(zr)
}

// parseText parses body as the edge's scrape of a target serving it does
// (ingest.ParseScrape) and adds the job and instance labels the scrape adds.
func parseText(body []byte, ts int64, job, instance string) (*relay.Batch, error) {
	b, err := ingest.ParseScrape(body, ingest.ParseOptions{ContentType: "text/plain; version=0.0.4", Timestamp: ts})
	if err != nil {
		return nil, err
	}
	b.Job, b.Instance = job, instance
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i := range b.Series {
		lb.Reset(b.Series[i].Labels)
		lb.Set("job", job)
		lb.Set("instance", instance)
		b.Series[i].Labels = lb.Labels()
	}
	return b, nil
}

// synthetic returns n scrapes, interval ms apart, of one target of size
// series: integer counters (idle and busy, with rare resets), float
// counters of seconds, decimal and full-precision gauges, constant info
// series, and histogram buckets; churn per cent of the series are replaced
// each scrape. The same seed gives the same workload.
func synthetic(seed uint64, size, n int, interval int64, churn float64) *workload {
	g := &synthGen{rng: rand.New(rand.NewPCG(seed, 1))}
	all := make([]synthSeries, size)
	for i := range all {
		all[i] = g.series()
	}
	meta := map[string]relay.Metadata{}
	for _, f := range synthFamilies {
		meta[f.name] = relay.Metadata{Type: f.typ, Help: "Synthetic " + strings.ReplaceAll(f.name, "_", " ") + "."}
	}
	w := &workload{name: fmt.Sprintf("synthetic %dk", size/1000)}
	ts := int64(1_800_000_000_000)
	for range n {
		ts += interval + int64(g.rng.IntN(20)) - 10
		for range int(float64(size) * churn) {
			all[g.rng.IntN(size)] = g.series()
		}
		b := &relay.Batch{Scrape: true, Job: "synthetic", Instance: "10.0.0.1:8080", Timestamp: ts, Metadata: meta,
			Series: make([]relay.Series, 0, size)}
		for i := range all {
			s := &all[i]
			g.advance(s, interval)
			b.Series = append(b.Series, relay.Series{Labels: s.lset, Samples: []relay.Sample{{T: ts, V: s.v}}})
		}
		w.scrapes = append(w.scrapes, b)
	}
	return w
}

// synthFamilies are the synthetic target's metric families; a series'
// kind is its family's index.
var synthFamilies = []struct{ name, typ string }{
	{"http_requests_total", "counter"}, {"rpc_errors_total", "counter"},
	{"process_cpu_seconds_total", "counter"}, {"queue_depth", "gauge"},
	{"temperature_celsius", "gauge"}, {"cache_hit_ratio", "gauge"},
	{"build_info", "gauge"}, {"request_duration_seconds_bucket", "histogram"},
}

// synthSeries is one series of the synthetic target and its current value.
type synthSeries struct {
	lset labels.Labels
	kind int
	v    float64
	rate float64
}

// synthGen draws the synthetic target's series and their values from rng,
// in an order that depends only on the seed.
type synthGen struct {
	rng  *rand.Rand
	next int // series made so far
}

// series makes a new series of a random family with its starting value.
func (g *synthGen) series() synthSeries {
	rng := g.rng
	g.next++
	f := rng.IntN(len(synthFamilies))
	lset := labels.FromStrings("__name__", synthFamilies[f].name, "job", "synthetic", "instance", "10.0.0.1:8080",
		"pod", fmt.Sprintf("app-%05d", g.next/40), "endpoint", fmt.Sprintf("/api/v1/item/%d", g.next%40))
	s := synthSeries{lset: lset, kind: f, rate: math.Exp(rng.NormFloat64() * 2)}
	switch f {
	case 0, 1, 7:
		s.v = float64(rng.IntN(1_000_000))
	case 2:
		s.v = float64(rng.IntN(100000)) / 100
	case 3:
		s.v = float64(rng.IntN(500))
	case 4:
		s.v = 20 + float64(rng.IntN(200))/10
	case 5:
		s.v = rng.Float64()
	case 6:
		s.v = 1
	}
	return s
}

// advance moves s's value on by one scrape, interval ms after the last.
func (g *synthGen) advance(s *synthSeries, interval int64) {
	rng := g.rng
	switch s.kind {
	case 0, 7: // busy integer counters; 1 in 5000 resets per scrape
		if rng.IntN(5000) == 0 {
			s.v = 0
		} else if rng.Float64() < 0.6 {
			s.v += math.Round(s.rate * float64(interval) / 1000 * (0.5 + rng.Float64()))
		}
	case 1: // idle counters: rarely move
		if rng.IntN(20) == 0 {
			s.v++
		}
	case 2: // CPU seconds with 10 ms resolution
		s.v = math.Round(s.v*100+float64(rng.IntN(300))) / 100
	case 3: // integer gauge
		if rng.IntN(3) == 0 {
			s.v = math.Max(0, s.v+float64(rng.IntN(21)-10))
		}
	case 4: // decimal gauge
		if rng.IntN(2) == 0 {
			s.v = math.Round(s.v*10+float64(rng.IntN(5)-2)) / 10
		}
	case 5: // full-precision ratio
		s.v = math.Min(1, math.Max(0, s.v+rng.NormFloat64()*0.01))
	}
}
