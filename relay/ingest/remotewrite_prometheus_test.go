package ingest

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay"
)

// TestRemoteWriteFromPrometheus points a real Prometheus at the handler: it
// scrapes itself every second and remote-writes; the sink must see its
// series and metadata.
func TestRemoteWriteFromPrometheus(t *testing.T) {
	sink := newRecordingSink()
	reg := prometheus.NewRegistry()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", NewRemoteWriteHandler(sink, RemoteWriteConfig{Registerer: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	webAddr := promtest.FreeAddr(t)
	promtest.StartAt(t, webAddr, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
- job_name: self
  static_configs: [{targets: [%q]}]
remote_write:
- url: http://%s/api/v1/write
  queue_config: {batch_send_deadline: 1s, min_backoff: 100ms}
  metadata_config: {send_interval: 1s}
`, webAddr, ln.Addr()))

	start := time.Now()
	bs := sink.waitFor(t, 25*time.Second, "prometheus_build_info and its metadata", func(bs []*relay.Batch) bool {
		var sample, meta bool
		for _, b := range bs {
			if _, ok := find(b, "prometheus_build_info", "job", "self", "instance", webAddr); ok {
				sample = true
			}
			if m, ok := b.Metadata["prometheus_build_info"]; ok && m.Type == "gauge" && m.Help != "" {
				meta = true
			}
		}
		return sample && meta
	})
	t.Logf("series and metadata after %v in %d requests", time.Since(start), len(bs))
	for _, b := range bs {
		if b.Scrape || b.Timestamp == 0 {
			t.Errorf("remote_write batch with scrape=%v timestamp=%d", b.Scrape, b.Timestamp)
		}
	}
	if s, ok := findAny(bs, "up", "job", "self"); !ok || s.V != 1 {
		t.Errorf("up{job=self} = %+v (found %v)", s, ok)
	}
	if got := metrictest.Value(t, reg, "edgerelay_remote_write_requests_total", "code", "204"); got < 1 {
		t.Errorf("requests_total{code=204} = %v", got)
	}
}

func findAny(bs []*relay.Batch, name string, kv ...string) (relay.Sample, bool) {
	for _, b := range bs {
		for _, s := range b.Series {
			if s.Labels.Get("__name__") != name {
				continue
			}
			ok := true
			for i := 0; i < len(kv); i += 2 {
				ok = ok && s.Labels.Get(kv[i]) == kv[i+1]
			}
			if ok && len(s.Samples) > 0 {
				return s.Samples[0], true
			}
		}
	}
	return relay.Sample{}, false
}
