package rwout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	commoncfg "github.com/prometheus/common/config"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

func batch(n int, t0 int64) *relay.Batch {
	b := &relay.Batch{Timestamp: t0}
	for i := 0; i < n; i++ {
		b.Series = append(b.Series, relay.Series{
			Labels:  labels.FromStrings("__name__", "fwd_test", "i", fmt.Sprint(i), "job", "j"),
			Samples: []relay.Sample{{T: t0, V: float64(i)}},
		})
	}
	return b
}

func cfg(t *testing.T, u string, maxSamples int) *promconfig.RemoteWriteConfig {
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	c := promconfig.DefaultRemoteWriteConfig
	c.URL = &commoncfg.URL{URL: pu}
	c.QueueConfig.MaxSamplesPerSend = maxSamples
	c.Headers = map[string]string{"X-Scope-OrgID": "acme"}
	return &c
}

func TestSendSplitsRetriesAndDrops(t *testing.T) {
	var mu sync.Mutex
	var got []int
	status := []int{500, 429, 204, 204, 204}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Scope-OrgID") != "acme" || r.Header.Get("Content-Encoding") != "snappy" {
			t.Errorf("headers: %v", r.Header)
		}
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			t.Error(err)
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			t.Error(err)
		}
		code := 204
		if len(status) > 0 {
			code, status = status[0], status[1:]
		}
		if code == 204 {
			got = append(got, len(req.Timeseries))
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	f, err := New(cfg(t, srv.URL, 4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Send(context.Background(), batch(10, 1000)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if fmt.Sprint(got) != "[4 4 2]" {
		t.Fatalf("requests carried %v series, want [4 4 2] after two retried failures", got)
	}
	mu.Unlock()

	// A permanent refusal drops (and counts) instead of holding forever.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "out of order", 400) }))
	defer bad.Close()
	f, _ = New(cfg(t, bad.URL, 100), Options{})
	if err := f.Send(context.Background(), batch(3, 1000)); err != nil {
		t.Fatalf("400 should drop, got %v", err)
	}

	// An endpoint that stays down makes Send fail, so the block is not acked.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	f, _ = New(cfg(t, down.URL, 100), Options{RetryFor: 300 * time.Millisecond})
	if err := f.Send(context.Background(), batch(3, 1000)); err == nil {
		t.Fatal("Send succeeded against an endpoint answering 503")
	}
}

// TestRealPrometheusReceiver forwards into Prometheus 2.42 started with its
// remote_write receiver and reads the samples back with its query API.
func TestRealPrometheusReceiver(t *testing.T) {
	addr := promtest.Start(t, "global: {}\n", "--web.enable-remote-write-receiver").Addr

	f, err := New(cfg(t, "http://"+addr+"/api/v1/write", 2000), Options{RetryFor: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if err := f.Send(context.Background(), batch(5, now)); err != nil {
		t.Fatal(err)
	}
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
