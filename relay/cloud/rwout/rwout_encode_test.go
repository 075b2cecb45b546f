package rwout

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

// TestEncodeExact: what a receiver decodes equals what was delivered, bit
// for bit (NaN payloads, negative timestamps, many samples per series).
func TestEncodeExact(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f := start(t, cfg(t, srv.URL, 10000), Options{})
	b := &relay.Batch{Series: []relay.Series{
		{Labels: labels.FromStrings("__name__", "a", "x", strings.Repeat("v", 300)),
			Samples: []relay.Sample{{T: -5, V: math.Float64frombits(0x7ff0000000000002)}, {T: 0, V: 0}, {T: 1 << 40, V: -1.5}}},
		{Labels: labels.FromStrings("__name__", "b"), Samples: []relay.Sample{{T: 7, V: math.Inf(1)}}},
	}}
	sendWait(t, f, b)
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[string][]prompb.Sample{}
	for _, req := range s.taken {
		for _, ts := range req.Timeseries {
			got[prompbLabels(ts).String()] = append(got[prompbLabels(ts).String()], ts.Samples...)
		}
	}
	for _, sr := range b.Series {
		g := got[sr.Labels.String()]
		if len(g) != len(sr.Samples) {
			t.Fatalf("%s: %v", sr.Labels, g)
		}
		for i, smp := range sr.Samples {
			if g[i].Timestamp != smp.T || math.Float64bits(g[i].Value) != math.Float64bits(smp.V) {
				t.Fatalf("%s sample %d: %v, want %v", sr.Labels, i, g[i], smp)
			}
		}
	}
}

// TestRealPrometheusReceiver forwards into Prometheus 2.42 started with its
// remote_write receiver and reads the samples back with its query API.
func TestRealPrometheusReceiver(t *testing.T) {
	addr := promtest.Start(t, "global: {}\n", "--web.enable-remote-write-receiver").Addr
	f := start(t, cfg(t, "http://"+addr+"/api/v1/write", 2000), Options{})
	now := time.Now().UnixMilli()
	sendWait(t, f, batch(5, now))
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(`fwd_test{i="3"}`) + fmt.Sprintf("&time=%.3f", float64(now)/1000))
		if err == nil {
			var r struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if len(r.Data.Result) == 1 && r.Data.Result[0].Value[1] == "3" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("forwarded sample not queryable in Prometheus")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
