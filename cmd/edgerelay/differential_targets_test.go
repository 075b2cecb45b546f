package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The differential test's targets serve every scraper the same sequence of
// scrapes: the k-th scrape a client makes (the client is named by the
// "client" URL parameter of its scrape config) gets the k-th response,
// fixed the first time any client asks for it. So a real Prometheus and
// edgerelay, scraping at their own moments, see identical scrapes, and
// each response carries "replay_scrape k" to pair them up afterwards.

// replayTarget hands out the k-th response to each client's k-th scrape.
type replayTarget struct {
	mu     sync.Mutex
	counts map[string]int
	make   func(k int) []*dto.MetricFamily // the k-th scrape, called once per k
	cache  map[int][]*dto.MetricFamily
	// text, when set, serves text instead of make's families: the k-th
	// upstream body, fetched once.
	text  func(k int) []byte
	texts map[int][]byte
	// queries holds each client's last request's query string.
	queries map[string]string
}

func (rt *replayTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client := r.URL.Query().Get("client")
	rt.mu.Lock()
	if rt.counts == nil {
		rt.counts, rt.cache, rt.texts, rt.queries = map[string]int{}, map[int][]*dto.MetricFamily{}, map[int][]byte{}, map[string]string{}
	}
	rt.queries[client] = r.URL.RawQuery
	k := rt.counts[client]
	rt.counts[client]++
	if rt.text != nil {
		body, ok := rt.texts[k]
		if !ok {
			body = rt.text(k)
			rt.texts[k] = body
		}
		rt.mu.Unlock()
		w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
		w.Write(body)
		return
	}
	mfs, ok := rt.cache[k]
	if !ok {
		mfs = rt.make(k)
		rt.cache[k] = mfs
	}
	rt.mu.Unlock()
	format := expfmt.NegotiateIncludingOpenMetrics(r.Header)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		c.Close()
	}
}

// query is the query string of client's last request.
func (rt *replayTarget) query(client string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.queries[client]
}

func serveReplay(t *testing.T, rt *replayTarget) string {
	ts := httptest.NewServer(rt)
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// replayLine is appended to every text scrape.
func replayLine(k int) string {
	return fmt.Sprintf("# HELP replay_scrape Scrape number of the replayed target.\n# TYPE replay_scrape gauge\nreplay_scrape %d\n", k)
}

// startNodeExporter runs the real prometheus-node-exporter on a free
// loopback port until the test ends and returns its address once it
// answers; it skips the test when the package is not installed.
func startNodeExporter(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("prometheus-node-exporter")
	if err != nil {
		t.Skip("prometheus-node-exporter not installed (Debian package prometheus-node-exporter)")
	}
	addr := freePort(t, "tcp")
	start(t, path, "--web.listen-address="+addr)
	waitFor(t, "node_exporter up", 20*time.Second, func() bool { code, _ := httpGet("http://" + addr + "/metrics"); return code == 200 })
	return addr
}

// nodeExporterTarget starts the real prometheus-node-exporter and replays
// its scrapes; it skips the test when the package is not installed.
func nodeExporterTarget(t *testing.T) string {
	addr := startNodeExporter(t)
	fetch := func() ([]byte, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
		req.Header.Set("Accept", "text/plain;version=0.0.4")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return io.ReadAll(resp.Body)
	}
	rt := &replayTarget{text: func(k int) []byte {
		body, err := fetch()
		if err != nil {
			body = nil // an empty scrape: both scrapers see the same
		}
		return append(body, replayLine(k)...)
	}}
	return serveReplay(t, rt)
}

// churnTarget serves 100 series of which a tenth change each scrape, so
// scrapers append staleness markers, plus values whose bits matter.
func churnTarget(t *testing.T) string {
	rt := &replayTarget{text: func(k int) []byte {
		var b strings.Builder
		b.WriteString("# HELP churn_value A series set that churns each scrape.\n# TYPE churn_value gauge\n")
		for i := range 100 {
			if (i*7+k)%10 == 0 {
				continue
			}
			fmt.Fprintf(&b, "churn_value{id=\"%d\",zone=\"z%d\"} %s\n", i, i%3, formatValue(float64(i*k)+0.1))
		}
		b.WriteString("# HELP churn_special Values at the edges of float64.\n# TYPE churn_special gauge\n")
		for i, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN(), -0.0, math.SmallestNonzeroFloat64, math.MaxFloat64, 1e-300 * float64(k+1)} {
			fmt.Fprintf(&b, "churn_special{kind=\"%d\"} %s\n", i, formatValue(v))
		}
		b.WriteString("# HELP churn_requests_total Requests served.\n# TYPE churn_requests_total counter\n")
		fmt.Fprintf(&b, "churn_requests_total{code=\"200\"} %d\n", 10*k)
		if k%4 != 3 {
			fmt.Fprintf(&b, "churn_requests_total{code=\"500\"} %d\n", k/4)
		}
		b.WriteString(replayLine(k))
		return []byte(b.String())
	}}
	return serveReplay(t, rt)
}

// labelTarget serves series with labels the target labelling jobs
// (labelJobs) give their targets too: instance and rack.
func labelTarget(t *testing.T) (string, *replayTarget) {
	rt := &replayTarget{text: func(k int) []byte {
		return []byte(fmt.Sprintf("# HELP label_value A series with labels its target has too.\n# TYPE label_value gauge\n"+
			"label_value{id=\"a\",instance=\"exposed:1\",rack=\"exposed\"} %d\nlabel_value{id=\"b\"} %d\n", k, 2*k) + replayLine(k))
	}}
	return serveReplay(t, rt), rt
}

// labelJobs are the target labelling jobs on labelTarget's addr.
// relabel: relabel_configs move __address__ (instance then defaults to
// it), set a __param_ (replacing the first of the job's params) and
// __scrape_timeout__, read __scheme__ and __metrics_path__, and a target
// label clashes with an exposed one (exported_rack). honor: honor_labels
// with instance set by relabelling. extra lines go in both.
func labelJobs(client, addr string, extra ...string) string {
	more := ""
	for _, e := range extra {
		more += "      " + e + "\n"
	}
	return fmt.Sprintf(`    - job_name: relabel
      scrape_interval: 1s
      scrape_timeout: 900ms
      params: {client: [%[1]s-relabel], module: [a, b]}
      static_configs: [{targets: ["placeholder:1"], labels: {real: %[2]q, rack: r1}}]
      relabel_configs:
        - {source_labels: [real], target_label: __address__}
        - {action: labeldrop, regex: real}
        - {source_labels: [__address__], target_label: __param_target}
        - {target_label: __param_module, replacement: c}
        - {target_label: __scrape_timeout__, replacement: 700ms}
        - {source_labels: [__scheme__, __metrics_path__, __param_module], separator: "|", target_label: via}
%[3]s    - job_name: honor
      scrape_interval: 1s
      scrape_timeout: 900ms
      honor_labels: true
      params: {client: [%[1]s-honor]}
      static_configs: [{targets: [%[2]q], labels: {rack: r2}}]
      relabel_configs: [{target_label: instance, replacement: configured}]
%[3]s`, client, addr, more)
}

// histogramTarget serves a native histogram (and its classic buckets)
// with exemplars from client_golang, negotiating protobuf with a scraper
// that asks for it.
func histogramTarget(t *testing.T) string {
	rt := &replayTarget{make: func(k int) []*dto.MetricFamily {
		reg := prometheus.NewRegistry()
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "replay_request_duration_seconds", Help: "Request durations.",
			Buckets:                        []float64{0.01, 0.1, 1},
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxExemplars:    4,
			NativeHistogramExemplarTTL:     time.Hour,
			NativeHistogramZeroThreshold:   1e-6,
			NativeHistogramMaxBucketNumber: 100,
		}, []string{"path"})
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "replay_scrape", Help: "Scrape number of the replayed target."})
		reg.MustRegister(h, g)
		g.Set(float64(k))
		for i := range 10 * (k + 1) {
			v := float64((i*37+k)%1000) / 997
			obs := h.WithLabelValues("/api").(prometheus.ExemplarObserver)
			if i%5 == 0 {
				obs.ObserveWithExemplar(v, prometheus.Labels{"trace_id": fmt.Sprintf("t%d-%d", k, i)})
			} else {
				h.WithLabelValues("/api").Observe(v)
			}
			if i%3 == 0 {
				h.WithLabelValues("/health").Observe(-v) // negative buckets
			}
		}
		mfs, err := reg.Gather()
		if err != nil {
			panic(err)
		}
		return mfs
	}}
	return serveReplay(t, rt)
}
