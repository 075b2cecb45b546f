package main

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
)

// TestDifferentialPrometheus runs a real Prometheus (agent mode) and
// edgerelay (edge → QUIC → cloud → remote_write) on the same targets — a
// real node_exporter, a target whose series churn, and a client_golang
// target with native histograms and exemplars, and a target served to two
// target labelling jobs (labelJobs) — each scrape replayed identically to
// both, extra_scrape_metrics on, and compares what each delivers to one recording
// remote_write receiver: for every scrape both made, the same series,
// values bit for bit (staleness markers included) and metadata; site and
// tenant, the identity labels edgerelay adds, aside.
func TestDifferentialPrometheus(t *testing.T) {
	promtest.Require(t, "it is what this test compares edgerelay with")
	buildBinary(t) // before the targets: skipped with -short
	labelAddr, labelRT := labelTarget(t)
	targets := map[string]string{
		"node":    nodeExporterTarget(t),
		"churn":   churnTarget(t),
		"hist":    histogramTarget(t),
		"relabel": labelAddr,
		"honor":   labelAddr,
	}
	recv := &rwRecorder{}
	rs := httptest.NewServer(recv)
	t.Cleanup(rs.Close)

	// The scrape jobs, the same for both but for the client parameter.
	// Prometheus 2.42 scrapes native histograms and adds the extra scrape
	// metrics with feature flags, edgerelay (Prometheus 3's syntax) with
	// scrape_native_histograms and extra_scrape_metrics.
	jobs := func(client string) string {
		var b strings.Builder
		var edgeOnly []string
		if client == "edge" {
			edgeOnly = []string{"extra_scrape_metrics: true"}
		}
		for _, job := range []string{"node", "churn", "hist"} {
			extra := append([]string{fmt.Sprintf("params: {client: [%s]}", client)}, edgeOnly...)
			if client == "edge" && job == "hist" {
				extra = append(extra, "scrape_native_histograms: true")
			}
			b.WriteString(jobYAML(job, targets[job], "1s", "900ms", extra...))
		}
		b.WriteString(labelJobs(client, labelAddr, edgeOnly...))
		return b.String()
	}

	promtest.Start(t, fmt.Sprintf(`
scrape_configs:
%s
remote_write:
  - url: %s/prom
    send_exemplars: true
    send_native_histograms: true
    metadata_config: {send: true, send_interval: 1s}
    queue_config: {batch_send_deadline: 200ms}
`, jobs("prom"), rs.URL), "--enable-feature=agent,native-histograms,extra-scrape-metrics")

	env := newEnvWith(t, envOptions{scrape: jobs("edge"), cloud: fmt.Sprintf(`  remote_write:
    - url: %s/edge
      send_native_histograms: true
      send_exemplars: true
      metadata_config: {send: true, send_interval: 1s}
`, rs.URL)})
	start(t, env.bin, "run", "--config", env.cloudConfig)
	start(t, env.bin, "run", "--config", env.edgeConfig)

	const want = 6 // scrapes of every job seen by both
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, e := recv.scrapes("/prom"), recv.scrapes("/edge")
		var short []string
		for job := range targets {
			if n := len(commonScrapes(p[job], e[job])); n < want {
				short = append(short, fmt.Sprintf("%s: %d in common, Prometheus %d, edgerelay %d", job, n, len(p[job]), len(e[job])))
			}
		}
		if len(short) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d scrapes in common after 90s: %s", want, strings.Join(short, "; "))
		}
	}
	time.Sleep(2 * time.Second) // metadata of the last interval

	p, e := recv.scrapes("/prom"), recv.scrapes("/edge")
	for job := range targets {
		common := commonScrapes(p[job], e[job])
		// The last common scrape may still be arriving on one side.
		common = common[:len(common)-1]
		var stale, hists, exemplars int
		for _, k := range common {
			if diff := diffScrape(p[job][k], e[job][k]); diff != "" {
				t.Errorf("job %s scrape %d: Prometheus and edgerelay differ:\n%s", job, k, diff)
			}
			for key, v := range p[job][k] {
				switch {
				case v == staleNaNBits:
					stale++
				case strings.HasSuffix(key, " histogram"):
					hists++
				case isExemplar(key):
					exemplars++
				}
			}
		}
		t.Logf("job %s: %d scrapes compared, %d points in the last; staleness markers %d, histograms %d, exemplars %d",
			job, len(common), len(p[job][common[len(common)-1]]), stale, hists, exemplars)
		// The comparison is only as good as what the targets made happen.
		switch job {
		case "churn":
			if stale == 0 {
				t.Errorf("job churn: no staleness markers compared")
			}
		case "hist":
			if hists == 0 || exemplars == 0 {
				t.Errorf("job hist: %d histograms and %d exemplars compared; want some of each", hists, exemplars)
			}
		}
		checkLabelling(t, job, p[job][common[len(common)-1]], labelAddr)
	}
	// The relabelled params reached the target alike.
	pq, eq := labelRT.query("prom-relabel"), labelRT.query("edge-relabel")
	if want := "module=c&module=b&target=" + url.QueryEscape(labelAddr); !strings.Contains(pq, want) || strings.Replace(pq, "prom-", "edge-", 1) != eq {
		t.Errorf("relabel job's query: Prometheus %q, edgerelay %q; want both with %q", pq, eq, want)
	}
	pm, em := recv.metadata("/prom"), recv.metadata("/edge")
	if len(pm) == 0 {
		t.Fatal("Prometheus sent no metadata")
	}
	for family, m := range pm {
		if got, ok := em[family]; !ok || got.Type != m.Type || got.Help != m.Help || got.Unit != m.Unit {
			t.Errorf("metadata of %s: Prometheus %+v, edgerelay %+v (present %v)", family, m, got, ok)
		}
	}
}

// staleNaNBits is Prometheus' staleness marker as a point.
var staleNaNBits = point(fmt.Sprintf("%#016x", uint64(0x7ff0000000000002)))

// identityLabels are the labels edgerelay adds that Prometheus does not.
var identityLabels = []string{"site", "tenant"}

// point is what a remote_write receiver got for one series at one time:
// a float's bits, or a histogram and exemplars in their protobuf text.
type point string

// rwRecorder records remote_write 1.0 requests by URL path.
type rwRecorder struct {
	mu      sync.Mutex
	streams map[string]*rwStream
}

type rwStream struct {
	// points by job, then timestamp, then series labels.
	points map[string]map[int64]map[string]point
	// exemplars by job, then series, exemplar labels and timestamp; they
	// carry their own timestamps, so they are paired with a scrape by the
	// replay target's trace_id "t<k>-<i>".
	exemplars map[string]map[string]point
	meta      map[string]prompb.MetricMetadata
}

func (r *rwRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	wr, ok := readWrite(w, req)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams == nil {
		r.streams = map[string]*rwStream{}
	}
	s := r.streams[req.URL.Path]
	if s == nil {
		s = &rwStream{points: map[string]map[int64]map[string]point{}, exemplars: map[string]map[string]point{},
			meta: map[string]prompb.MetricMetadata{}}
		r.streams[req.URL.Path] = s
	}
	for _, m := range wr.Metadata {
		s.meta[m.MetricFamilyName] = m
	}
	for _, ts := range wr.Timeseries {
		var job string
		var names []string
		for _, l := range ts.Labels {
			if slices.Contains(identityLabels, l.Name) {
				continue
			}
			if l.Name == "job" {
				job = l.Value
			}
			v := l.Value
			if req.URL.Path == "/prom" && (l.Name == "le" || l.Name == "quantile") {
				v = normalizeFloatLabel(v)
			}
			names = append(names, l.Name+"="+v)
		}
		key := strings.Join(names, ",")
		at := func(t int64) map[string]point {
			if s.points[job] == nil {
				s.points[job] = map[int64]map[string]point{}
			}
			m := s.points[job][t]
			if m == nil {
				m = map[string]point{}
				s.points[job][t] = m
			}
			return m
		}
		for _, smp := range ts.Samples {
			at(smp.Timestamp)[key] = point(fmt.Sprintf("%#016x", math.Float64bits(smp.Value)))
		}
		for _, h := range ts.Histograms {
			t := h.Timestamp
			h.Timestamp = 0 // the scrape's, paired up by scrape number
			at(t)[key+" histogram"] = point(h.String())
		}
		for _, ex := range ts.Exemplars {
			if s.exemplars[job] == nil {
				s.exemplars[job] = map[string]point{}
			}
			var el []string
			for _, l := range ex.Labels {
				el = append(el, l.Name+"="+l.Value)
			}
			s.exemplars[job][fmt.Sprintf("%s exemplar {%s} @%d", key, strings.Join(el, ","), ex.Timestamp)] =
				point(fmt.Sprintf("%#016x", math.Float64bits(ex.Value)))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// normalizeFloatLabel writes an le or quantile label value as Prometheus
// 3's parsers do ("1" becomes "1.0"): edgerelay scrapes with Prometheus 3's
// scrape code, which normalizes these values; Prometheus 2.42 keeps them as
// the target wrote them.
func normalizeFloatLabel(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eInN") {
		s += ".0"
	}
	return s
}

// scrapes returns the stream's scrapes by job and scrape number: the
// points of each scrape timestamp, numbered by its replay_scrape sample.
func (r *rwRecorder) scrapes(path string) map[string]map[int]map[string]point {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[int]map[string]point{}
	s := r.streams[path]
	if s == nil {
		return out
	}
	for job, byT := range s.points {
		out[job] = map[int]map[string]point{}
		for _, pts := range byT {
			for key, p := range pts {
				if !strings.HasPrefix(key, "__name__=replay_scrape,") || strings.Contains(key, " ") {
					continue
				}
				bits, _ := strconv.ParseUint(string(p), 0, 64)
				if v := math.Float64frombits(bits); v == math.Trunc(v) && v >= 0 {
					out[job][int(v)] = maps.Clone(pts)
				}
			}
		}
		for key, p := range s.exemplars[job] {
			_, id, ok := strings.Cut(key, "trace_id=t")
			var k int
			if !ok {
				continue
			}
			if _, err := fmt.Sscanf(id, "%d-", &k); err != nil {
				continue
			}
			if pts, ok := out[job][k]; ok {
				pts[key] = p
			}
		}
	}
	return out
}

func (r *rwRecorder) metadata(path string) map[string]prompb.MetricMetadata {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]prompb.MetricMetadata{}
	if s := r.streams[path]; s != nil {
		for k, v := range s.meta {
			out[k] = v
		}
	}
	return out
}

// commonScrapes returns the scrape numbers present in both, in order.
func commonScrapes(a, b map[int]map[string]point) []int {
	var ks []int
	for k := range a {
		if _, ok := b[k]; ok {
			ks = append(ks, k)
		}
	}
	sort.Ints(ks)
	return ks
}

// Prometheus 2.42 reads a native histogram's exemplars only from its
// classic buckets; Prometheus 3's scrape code, which edgerelay runs, also
// reads the histogram's own exemplar list. So every exemplar Prometheus
// sent must be in edgerelay's stream, which may hold more.
func isExemplar(key string) bool { return strings.Contains(key, " exemplar {") }

// ignored are report series whose values depend on the scraper's own
// timing, not on what the target served.
func ignored(key string) bool {
	return strings.HasPrefix(key, "__name__=scrape_duration_seconds,")
}

// diffScrape lists the differences between two scrapes, "" when equal.
func diffScrape(prom, edge map[string]point) string {
	var out []string
	for k, v := range prom {
		if ignored(k) {
			continue
		}
		if w, ok := edge[k]; !ok {
			out = append(out, fmt.Sprintf("  only Prometheus: %s %s", k, v))
		} else if w != v {
			out = append(out, fmt.Sprintf("  %s: Prometheus %s, edgerelay %s", k, v, w))
		}
	}
	for k, v := range edge {
		if _, ok := prom[k]; !ok && !ignored(k) && !isExemplar(k) {
			out = append(out, fmt.Sprintf("  only edgerelay: %s %s", k, v))
		}
	}
	sort.Strings(out)
	if len(out) > 30 {
		out = append(out[:30], fmt.Sprintf("  ... and %d more", len(out)-30))
	}
	return strings.Join(out, "\n")
}

// checkLabelling fails the test unless the scrape pts of job holds what
// its target labelling should give (labelJobs), so that the comparison
// covers it; other jobs must have the extra scrape metrics.
func checkLabelling(t *testing.T, job string, pts map[string]point, labelAddr string) {
	t.Helper()
	var want []string
	switch job {
	case "relabel":
		want = []string{"__name__=label_value,exported_instance=exposed:1,exported_rack=exposed,id=a,instance=" + labelAddr + ",job=relabel,rack=r1,via=http|/metrics|c",
			"__name__=scrape_timeout_seconds,instance=" + labelAddr + ",job=relabel,rack=r1,via=http|/metrics|c"}
	case "honor":
		want = []string{"__name__=label_value,id=a,instance=exposed:1,job=honor,rack=exposed",
			"__name__=label_value,id=b,instance=configured,job=honor,rack=r2", "__name__=up,instance=configured,job=honor,rack=r2"}
	default:
		for _, name := range []string{"scrape_timeout_seconds", "scrape_sample_limit", "scrape_body_size_bytes"} {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(pts)), func(k string) bool { return strings.HasPrefix(k, "__name__="+name+",") }) {
				t.Errorf("job %s: no %s compared", job, name)
			}
		}
	}
	for _, k := range want {
		if _, ok := pts[k]; !ok {
			t.Errorf("job %s: no series %s compared; have %v", job, k, slices.Sorted(maps.Keys(pts)))
		}
	}
}
