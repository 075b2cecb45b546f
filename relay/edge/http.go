package edge

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/version"
	"github.com/edgerelay/edgerelay/relay/webauth"
)

// handler is the HTTP listener's: the web config file's TLS and basic auth
// (every user may use every path; health checks open), then the paths.
func (e *Edge) handler() http.Handler {
	m := http.NewServeMux()
	m.Handle("/api/v1/write", ingest.NewRemoteWriteHandler(e, ingest.RemoteWriteConfig{
		MaxBodyBytes: int64(e.cfg.RemoteWrite.MaxBodyBytes), Logger: e.log, Registerer: e.reg,
	}))
	m.Handle("/metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg}))
	m.Handle("/-/healthy", status.Healthy())
	m.Handle("/-/ready", status.Ready(e.ready.Load))
	m.Handle("/", status.Handler(e.statusPage))
	if e.rel != nil {
		m.Handle("/-/reload", e.rel.Handler())
	}
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

func (e *Edge) statusPage() status.Page {
	st := e.queue.Stats()
	ts := func(ms int64) string {
		if ms == 0 {
			return "—"
		}
		t := time.UnixMilli(ms)
		return fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339), humanize.Time(t))
	}
	connected := "no — blocks wait in the queue"
	if e.fwd.Connected() {
		connected = "yes"
	}
	p := status.Page{
		Role: "edge", Version: version.String(), Started: e.started,
		Links: []status.Row{{Name: "/metrics", Value: "/metrics"}, {Name: "/-/ready", Value: "/-/ready"}},
		Sections: []status.Section{
			{Title: "Identity", Rows: []status.Row{status.R("tenant", e.cfg.Tenant), status.R("site", e.cfg.Site)}},
			{Title: "HTTP", Rows: []status.Row{status.R("listener", e.ln.Addr().String()), status.R("access", e.web.Describe())}},
			{Title: "Uplink", Rows: []status.Row{
				status.R("cloud", e.cfg.Upstream.Address),
				status.R("connected", connected),
				status.R("encoding", e.encoding()),
				status.R("wire bytes per sample", e.wireCost()),
			}},
			{Title: "Queue", Rows: []status.Row{
				status.R("blocks", fmt.Sprint(st.Blocks)),
				status.R("bytes", humanize.IBytes(uint64(st.Bytes))),
				status.R("samples", fmt.Sprint(st.Samples)),
				status.R("oldest", ts(st.OldestTime)),
				status.R("newest", ts(st.NewestTime)),
				status.R("cap", humanize.IBytes(uint64(e.cfg.Queue.MaxBytes))),
				status.R("dropped blocks", fmt.Sprint(st.DroppedBlocks)),
				status.R("drain", e.drain()),
			}},
			{Title: "Scrape jobs", Rows: e.jobRows()},
			{Title: "remote_write metadata", Rows: e.meta.rows()},
		},
	}
	if e.rel != nil {
		p.Sections = append(p.Sections, e.rel.Section())
	}
	return p
}

// drain says how the queue goes to the cloud now.
func (e *Edge) drain() string {
	switch {
	case e.fwd.Beside():
		return fmt.Sprintf("backlog beside live data (%g of the link for the backlog, queue.replay_share)", e.cfg.Queue.ReplayShare)
	case e.queue.Stats().Backlog:
		return "oldest first; a live lane waits behind the backlog (the cloud takes blocks in order only)"
	}
	return "oldest first"
}

func (e *Edge) encoding() string {
	if e.com.delta == nil {
		return "whole scrapes (delta disabled)"
	}
	return fmt.Sprintf("delta, a full frame of every target at least every %s", e.com.delta.fullEvery)
}

// wireCost is the uplink's bytes per acknowledged sample since start.
func (e *Edge) wireCost() string {
	b, n := e.fwd.Sent()
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f (%s for %s samples)", b/n, humanize.IBytes(uint64(b)), humanize.Comma(int64(n)))
}

func (e *Edge) jobRows() []status.Row {
	var rows []status.Row
	for _, sc := range e.live.Load().Scrape {
		rows = append(rows, status.Row{Name: sc.JobName, Value: fmt.Sprintf("every %s", sc.ScrapeInterval)})
	}
	if len(rows) == 0 {
		rows = append(rows, status.Row{Name: "none", Value: "remote_write only"})
	}
	return rows
}
