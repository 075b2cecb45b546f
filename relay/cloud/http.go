package cloud

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/version"
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

func (c *Cloud) statusPage() status.Page {
	tenants := "any (no cloud.tenants configured)"
	if listed := c.auth.listed(); listed != nil {
		tenants = fmt.Sprintf("%d configured", len(listed))
	}
	p := status.Page{
		Role: "cloud", Version: version.String(), Started: c.started,
		Links: []status.Row{{Name: "/federate", Value: `/federate?match[]={job=~".+"}`}, {Name: "/metrics", Value: "/metrics"},
			{Name: "/api/v1/stream", Value: `/api/v1/stream?match[]={job=~".+"}`}},
		Sections: []status.Section{
			{Title: "Listeners", Rows: []status.Row{status.R("QUIC", c.srv.Addr().String()), status.R("HTTP", c.ln.Addr().String()), status.R("HTTP access", c.access.describe())}},
			{Title: "Output", Rows: []status.Row{status.R("files", c.cfg.FilesDir), status.R("federated series", fmt.Sprint(c.fed.Series())),
				status.R("stream subscribers", fmt.Sprint(c.stream.Subscribers())), status.R("notify", c.notify.Describe()),
				status.R("metric families with remote_write metadata", fmt.Sprint(c.meta.Families()))}},
			{Title: "Tenants", Rows: []status.Row{status.R("accepted", tenants), status.R("identity from", c.auth.describe())}},
			c.limitsSection(),
		},
	}
	if c.rel != nil {
		p.Sections = append(p.Sections, c.rel.Section())
	}
	return p
}
