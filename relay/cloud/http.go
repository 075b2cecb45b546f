package cloud

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgerelay/edgerelay/relay/status"
)

// handler is the HTTP listener's: the web config file's authentication
// first (health checks open), then what each user may read (access.go).
func (c *Cloud) handler() http.Handler {
	m := http.NewServeMux()
	m.Handle("/federate", c.access.federate(c.fed.Serve, c.fed.Refused))
	m.Handle("/api/v1/stream", c.access.federate(c.stream.Serve, c.stream.Refused))
	m.Handle("/metrics", c.access.operator(promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{Registry: c.reg})))
	m.Handle("/-/healthy", status.Healthy())
	m.Handle("/-/ready", status.Ready(func() bool { return true }))
	m.Handle("/", c.access.operator(status.Handler(c.statusPage)))
	if c.rel != nil {
		m.Handle("/-/reload", c.access.operator(c.rel.Handler()))
	}
	if c.cfg.Debug.Pprof {
		m.Handle("/debug/pprof/", c.access.operator(status.Pprof()))
	}
	return c.access.web.Handler(m, "/-/healthy", "/-/ready")
}
