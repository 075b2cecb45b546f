package federate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

// TestPrometheusScrapesNativeHistograms runs the real Prometheus with
// native histograms on against /federate: it negotiates the protobuf format,
// and its query API returns exactly the histograms the store was given —
// count, sum and every bucket's count, for an integer histogram (schema 3,
// negative and zero buckets), for a float histogram, and for a
// custom-bucket one, which arrives as its classic histogram; and a
// counter's exemplar.
func TestPrometheusScrapesNativeHistograms(t *testing.T) {
	s := New(Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := &histogram.Histogram{
		Schema: 3, ZeroThreshold: math.Ldexp(1, -128), ZeroCount: 4, Count: 40, Sum: 1234.0625,
		PositiveSpans: []histogram.Span{{Offset: -3, Length: 3}, {Offset: 5, Length: 2}}, PositiveBuckets: []int64{1, 2, -1, 6, -3},
		NegativeSpans: []histogram.Span{{Offset: 1, Length: 2}}, NegativeBuckets: []int64{7, 3},
	}
	id := []string{"instance", "sensor-1:9100", "job", "node", "site", "plant-7", "tenant", "acme"}
	lset := labels.FromStrings(append([]string{"__name__", "edge_rpc_seconds"}, id...)...)
	nhcb := labels.FromStrings(append([]string{"__name__", "edge_db_seconds"}, id...)...)
	counter := labels.FromStrings(append([]string{"__name__", "edge_requests_total"}, id...)...)
	floatH := labels.FromStrings(append([]string{"__name__", "edge_queue_depth"}, id...)...)
	wantF := &histogram.FloatHistogram{
		Schema: -1, ZeroThreshold: 0.001, ZeroCount: 0.5, Count: 6.25, Sum: -3.5,
		PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []float64{3, 0.25},
		NegativeSpans: []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []float64{2.5},
	}
	exTs := time.Now().UnixMilli() - 500
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			now := time.Now().UnixMilli()
			s.Update("acme", &relay.Batch{
				Series: []relay.Series{
					{Labels: lset, Histograms: []relay.HistogramSample{{T: now, H: want.Copy()}}},
					{Labels: nhcb, Histograms: []relay.HistogramSample{{T: now, H: customHistogram()}}},
					{Labels: floatH, Histograms: []relay.HistogramSample{{T: now, FH: wantF.Copy()}}},
					{Labels: counter, Samples: []relay.Sample{{T: now, V: float64(100 + i)}},
						Exemplars: []relay.Exemplar{{Labels: labels.FromStrings("trace_id", "4bf92f3577b34da6"), Value: 0.125, Ts: exTs, HasTs: true}}},
				},
				Metadata: map[string]relay.Metadata{"edge_requests": {Type: "counter", Help: "Requests."}},
			})
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	prom := promtest.Start(t, federateConfig(ln.Addr().String()), "--enable-feature=native-histograms,exemplar-storage")
	promAddr := prom.Addr
	query := func(q string) (json.RawMessage, bool) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
			return nil, false
		}
		return r.Data.Result[0], true
	}
	var got struct {
		Metric    map[string]string `json:"metric"`
		Histogram [2]json.RawMessage
	}
	for {
		if ctx.Err() != nil {
			t.Fatalf("histogram never arrived in Prometheus; its log:\n%s", prom.Logs())
		}
		if raw, ok := query(`edge_rpc_seconds{tenant="acme"}`); ok {
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if got.Histogram[1] == nil {
				t.Fatalf("Prometheus stored no native histogram: %s", raw)
			}
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if fmt.Sprint(got.Metric) != fmt.Sprint(lset.Map()) {
		t.Fatalf("labels %v, want %v", got.Metric, lset.Map())
	}
	if d := promtest.DiffHistogram(got.Histogram[1], want.ToFloat(nil)); d != "" {
		t.Fatal(d)
	}
	var gotF struct {
		Histogram [2]json.RawMessage
	}
	if raw, ok := query(`edge_queue_depth{tenant="acme"}`); !ok || json.Unmarshal(raw, &gotF) != nil {
		t.Fatalf("float histogram: %s", raw)
	}
	if d := promtest.DiffHistogram(gotF.Histogram[1], wantF); d != "" {
		t.Fatalf("float histogram: %s", d)
	}

	// The custom-bucket histogram, as its classic series (le spelled as
	// Prometheus does for protobuf scrapes).
	for le, want := range map[string]string{"0.1": "2", "0.5": "2", "1.0": "5", "+Inf": "9"} {
		raw, ok := query(fmt.Sprintf(`edge_db_seconds_bucket{tenant="acme",le=%q}`, le))
		var v vectorSample
		if !ok || json.Unmarshal(raw, &v) != nil || v.Value[1] != want {
			t.Errorf("edge_db_seconds_bucket{le=%q}: %s, want %s", le, raw, want)
		}
	}

	// The counter's exemplar.
	resp, err := http.Get("http://" + promAddr + "/api/v1/query_exemplars?query=" + url.QueryEscape(`edge_requests_total`) +
		fmt.Sprintf("&start=%.3f&end=%.3f", float64(exTs-60000)/1000, float64(time.Now().UnixMilli()+60000)/1000))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ex struct {
		Data []struct {
			Exemplars []struct {
				Labels    map[string]string `json:"labels"`
				Value     string            `json:"value"`
				Timestamp float64           `json:"timestamp"`
			} `json:"exemplars"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ex); err != nil || len(ex.Data) != 1 || len(ex.Data[0].Exemplars) != 1 {
		t.Fatalf("exemplars: %v %+v", err, ex)
	}
	e := ex.Data[0].Exemplars[0]
	if e.Labels["trace_id"] != "4bf92f3577b34da6" || e.Value != "0.125" || int64(math.Round(e.Timestamp*1000)) != exTs {
		t.Fatalf("exemplar %+v, want trace_id=4bf92f3577b34da6 0.125 at %d", e, exTs)
	}
}

// federateConfig is a prometheus.yml scraping /federate at target every
// second with honor_labels, as the README tells a central Prometheus to.
func federateConfig(target string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]': ['{job=~".+"}']
    static_configs:
      - targets: [%q]
`, target)
}
