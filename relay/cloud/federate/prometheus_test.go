package federate

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

// TestPrometheusScrapesFederate runs the real Prometheus against the
// handler, scraping /federate with honor_labels, and checks the series
// arrives with its labels and value.
func TestPrometheusScrapesFederate(t *testing.T) {
	s := New(Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	// Keep the series fresh, as the cloud would with each scrape it rebuilds.
	go func() {
		lset := labels.FromStrings("__name__", "edge_temp_celsius", "instance", "sensor-1:9100", "job", "node", "site", "plant-7", "tenant", "acme")
		for ctx.Err() == nil {
			s.Update("acme", &relay.Batch{
				Series:   []relay.Series{{Labels: lset, Samples: []relay.Sample{{T: time.Now().UnixMilli(), V: 21.25}}}},
				Metadata: map[string]relay.Metadata{"edge_temp_celsius": {Type: "gauge", Help: "Temperature."}},
			})
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	prom := promtest.Start(t, federateConfig(ln.Addr().String()))
	promAddr := prom.Addr

	query := "http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(`edge_temp_celsius{tenant="acme"}`)
	for {
		if ctx.Err() != nil {
			t.Fatalf("series never arrived in Prometheus; its log:\n%s", prom.Logs())
		}
		if got, ok := queryOne(query); ok {
			want := map[string]string{"__name__": "edge_temp_celsius", "instance": "sensor-1:9100", "job": "node", "site": "plant-7", "tenant": "acme"}
			if fmt.Sprint(got.Metric) != fmt.Sprint(want) || got.Value[1] != "21.25" {
				t.Fatalf("Prometheus has %v = %v, want %v = 21.25", got.Metric, got.Value, want)
			}
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

type vectorSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// queryOne runs an instant query and returns its only sample, if exactly one.
func queryOne(u string) (vectorSample, bool) {
	resp, err := http.Get(u)
	if err != nil {
		return vectorSample{}, false
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []vectorSample `json:"result"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
		return vectorSample{}, false
	}
	return r.Data.Result[0], true
}
