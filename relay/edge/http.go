package edge

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/webauth"
)

// handler is the HTTP listener's: the web config file's TLS and basic auth
// (every user may use every path; health checks open), then the paths.
func (e *Edge) handler() http.Handler {
	m := http.NewServeMux()
	m.Handle("/api/v1/write", ingest.NewRemoteWriteHandler(e, ingest.RemoteWriteConfig{
		MaxBodyBytes: int64(e.cfg.RemoteWrite.MaxBodyBytes), Logger: e.log, Registerer: e.reg,
		// Submit keeps nothing of a batch once it returned nil (as for
		// scrapes).
		ReuseBatches: true,
	}))
	m.Handle("/metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg}))
	m.Handle("/-/healthy", status.Healthy())
	m.Handle("/-/ready", status.Ready(e.ready.Load))
	m.Handle("/", status.Handler(e.statusPage))
	if e.rel != nil {
		m.Handle("/-/reload", e.rel.Handler())
	}
	m.Handle("/-/uplink/pause", e.uplinkHandler(true))
	m.Handle("/-/uplink/resume", e.uplinkHandler(false))
	if e.cfg.Debug.Pprof {
		m.Handle("/debug/pprof/", status.Pprof())
	}
	return e.web.Handler(m, "/-/healthy", "/-/ready")
}

// newWeb loads edge.web_config_file; New and Check both call it.
func newWeb(cfg *config.Edge, log *slog.Logger, reg prometheus.Registerer) (*webauth.Listener, error) {
	w, err := webauth.New(cfg.WebConfigFile, log, reg)
	if err != nil {
		return nil, fmt.Errorf("edge.web_config_file %s: %w", cfg.WebConfigFile, err)
	}
	return w, nil
}
