package federate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

const prometheusBin = "/usr/bin/prometheus"

// TestPrometheusScrapesFederate runs the real Prometheus against the
// handler, scraping /federate with honor_labels, and checks the series
// arrives with its labels and value.
func TestPrometheusScrapesFederate(t *testing.T) {
	if _, err := os.Stat(prometheusBin); err != nil {
		t.Skipf("%s not installed", prometheusBin)
	}
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

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
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
`, ln.Addr().String())
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, prometheusBin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	query := "http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(`edge_temp_celsius{tenant="acme"}`)
	for {
		if ctx.Err() != nil {
			t.Fatalf("series never arrived in Prometheus; its log:\n%s", logs.String())
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

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
