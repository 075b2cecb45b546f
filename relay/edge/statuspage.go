package edge

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/version"
)

// The chart's span and resolution: the last hour, a point every 10s.
const (
	historySpan  = time.Hour
	historyEvery = 10 * time.Second
)

func newHistory() *status.History {
	return status.NewHistory(historySpan, historyEvery, "uplink send rate (bytes/s)", "backlog (bytes on disk)")
}

// sampleHistory is the chart's sample: the uplink's bytes per second since
// the last sample, and the queue's bytes.
func (e *Edge) sampleHistory() func() []float64 {
	var lastBytes float64
	var lastAt time.Time
	return func() []float64 {
		sent, _ := e.sent()
		now := time.Now()
		rate := 0.0
		if !lastAt.IsZero() {
			rate = (sent - lastBytes) / now.Sub(lastAt).Seconds()
		}
		lastBytes, lastAt = sent, now
		return []float64{rate, float64(e.queue.Stats().Bytes)}
	}
}

// statusPage is the edge's status page. Its figures are read from the
// registry /metrics serves, at the moment the page is built.
func (e *Edge) statusPage() status.Page {
	f := status.Gather(e.reg)
	now := time.Now()
	p := status.Page{
		Role: "edge", Version: version.String(), Started: e.started,
		Links: []status.Row{{Name: "/metrics", Value: "/metrics"}, {Name: "/-/ready", Value: "/-/ready"}},
	}
	if e.rel != nil {
		p.Sections = append(p.Sections, e.rel.Section())
	}
	p.Sections = append(p.Sections,
		e.uplinkSection(f, now),
		e.backlogSection(f, now),
		status.Section{Title: "Last hour", Chart: e.hist.SVG()},
		e.targetsSection(now),
	)
	if e.shard != nil {
		p.Sections = append(p.Sections, e.shardSection(f))
	}
	p.Sections = append(p.Sections,
		e.pluginsSection(f),
		status.Section{Title: "Identity", Rows: []status.Row{status.R("tenant", e.cfg.Tenant), status.R("site", e.cfg.Site),
			status.R("labels added", e.extra.Load().String())}},
		status.Section{Title: "HTTP", Rows: []status.Row{status.R("listener", e.ln.Addr().String()), status.R("access", e.web.Describe())}},
		status.Section{Title: "remote_write metadata", Rows: e.meta.rows()},
	)
	return p
}

func (e *Edge) uplinkSection(f status.Figures, now time.Time) status.Section {
	sec := status.Section{Title: "Uplink", Rows: []status.Row{e.pausedRow(f)}}
	if e.ups != nil {
		sec.Rows = append(sec.Rows, status.R("upstreams", fmt.Sprintf("%d, upstream_mode %s", len(e.upNames), e.cfg.UpstreamMode)))
		if e.cfg.UpstreamMode == "failover" {
			sec.Rows = append(sec.Rows, f.M("failovers", "edgerelay_upstream_failovers_total"))
		}
	} else {
		connected := status.Row{Name: "connected", Value: "no — blocks wait in the queue", Class: "bad"}
		if f["edgerelay_uplink_connected"] == 1 {
			connected.Value, connected.Class = "yes", "ok"
		}
		sec.Rows = append(sec.Rows,
			status.R("cloud", e.cfg.Upstream.Address),
			connected,
			status.Row{Name: "last acknowledgement", Value: status.Ago(f["edgerelay_uplink_last_ack_timestamp_seconds"], now)},
			f.M("bytes sent", "edgerelay_uplink_sent_bytes_total"),
			f.M("samples acknowledged", "edgerelay_uplink_sent_samples_total"),
			f.M("blocks acknowledged", "edgerelay_uplink_sent_blocks_total"),
			f.M("reconnects", "edgerelay_uplink_reconnects_total"))
	}
	sec.Rows = append(sec.Rows,
		status.R("wire bytes per sample", e.wireCost()),
		status.R("encoding", e.encoding()),
		status.R("drain", e.drain()))
	if e.ups != nil {
		sec.Table = e.upstreamsTable(f, now)
	}
	return sec
}

// pausedRow says whether the uplink ships now (edgerelay_uplink_paused).
func (e *Edge) pausedRow(f status.Figures) status.Row {
	r := status.Row{Name: "shipping", Value: "yes", Class: "ok"}
	if f["edgerelay_uplink_paused"] == 1 {
		_, why := e.gate.Paused(time.Now())
		r.Value, r.Class = "PAUSED ("+why+": POST /-/uplink/resume, or edge.uplink.schedule) — blocks keep queueing", "bad"
	}
	return r
}

// upstreamsTable shows each of edge.upstreams.
func (e *Edge) upstreamsTable(f status.Figures, now time.Time) *status.Table {
	t := &status.Table{Head: []string{"upstream", "address", "active", "connected", "last acknowledgement", "acknowledged through seq", "backlog", "samples acknowledged", "blocks dropped for it"}}
	for i, name := range e.upNames {
		k := func(metric string) string { return status.Key(metric, "upstream", name) }
		conn := status.Row{Value: "no", Class: "bad"}
		if f[k("edgerelay_uplink_connected")] == 1 {
			conn = status.Row{Value: "yes", Class: "ok"}
		}
		active := status.Row{Value: "no"}
		if f[k("edgerelay_upstream_active")] == 1 {
			active = status.Row{Value: "yes", Class: "ok"}
		}
		dropped := f.SumWith("edgerelay_upstream_dropped_blocks_total", "upstream", name)
		dcell := status.Row{Value: status.Num(dropped)}
		if dropped > 0 {
			dcell.Class = "bad"
		}
		t.Rows = append(t.Rows, []status.Row{{Value: name}, {Value: e.cfg.Upstreams[i].Address}, active, conn,
			{Value: status.Ago(f[k("edgerelay_uplink_last_ack_timestamp_seconds")], now)},
			f.Cell(k("edgerelay_upstream_acked_seq")),
			{Value: humanize.IBytes(uint64(max(f[k("edgerelay_upstream_backlog_bytes")], 0)))},
			f.Cell(k("edgerelay_uplink_sent_samples_total")), dcell})
	}
	return t
}

func (e *Edge) backlogSection(f status.Figures, now time.Time) status.Section {
	st := e.queue.Stats()
	oldest := "— (empty)"
	if st.OldestTime > 0 {
		oldest = status.Age(now.Sub(time.UnixMilli(st.OldestTime)))
	}
	dropped := f.M("samples dropped at the cap", "edgerelay_queue_dropped_samples_total")
	if f["edgerelay_queue_dropped_samples_total"] > 0 {
		dropped.Class = "bad"
	}
	return status.Section{Title: "Backlog", Rows: []status.Row{
		f.M("blocks", "edgerelay_queue_blocks"),
		f.M("bytes", "edgerelay_queue_bytes"),
		f.M("samples", "edgerelay_queue_samples"),
		status.R("oldest block's age", oldest),
		status.R("cap (queue.max_bytes)", humanize.IBytes(uint64(e.cfg.Queue.MaxBytes))),
		dropped,
		f.M("blocks dropped at the cap", "edgerelay_queue_dropped_blocks_total"),
		f.M("batches refused (disk full)", "edgerelay_queue_refused_batches_total"),
		f.M("samples scraped", status.Key("edgerelay_ingested_samples_total", "source", "scrape")),
		f.M("samples by remote_write", status.Key("edgerelay_ingested_samples_total", "source", "remote_write")),
	}}
}

// targetsSection lists each scraped target as Prometheus' /targets does.
func (e *Edge) targetsSection(now time.Time) status.Section {
	jobs := map[string]bool{}
	sec := status.Section{Title: "Targets", Table: &status.Table{Head: []string{"job", "endpoint", "state", "last scrape", "duration", "samples", "error"}}}
	for _, sc := range e.live.Load().Scrape {
		jobs[sc.JobName] = true
	}
	seen := map[string]bool{}
	var lastErrs map[ingest.TargetID]string
	if sc := e.scraper.Load(); sc != nil {
		lastErrs = sc.LastErrors()
	}
	for _, t := range e.targets.list(jobs) {
		seen[t.job] = true
		state, class, errText := status.Row{Value: "up", Class: "ok"}, "", ""
		if !t.up {
			state = status.Row{Value: "down", Class: "bad"}
			why := lastErrs[ingest.TargetID{Job: t.job, Instance: t.instance}]
			if why == "" {
				why = "the edge's log says why"
			}
			class, errText = "bad", why+" (failing since "+t.downSince.UTC().Format("15:04:05 UTC")+")"
		}
		sec.Table.Rows = append(sec.Table.Rows, []status.Row{
			{Value: t.job}, {Value: t.instance}, state,
			{Value: status.Age(now.Sub(t.last)) + " ago"},
			{Value: fmt.Sprintf("%.3fs", t.duration)},
			{Value: status.Num(t.samples)},
			{Value: errText, Class: class},
		})
	}
	for _, sc := range e.live.Load().Scrape {
		if !seen[sc.JobName] {
			sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: sc.JobName}, {Value: "no target scraped yet"},
				{Value: ""}, {Value: ""}, {Value: ""}, {Value: ""}, {Value: ""}})
		}
	}
	if len(jobs) == 0 {
		sec.Note = "No scrape_configs: this edge takes remote_write only."
	}
	return sec
}

// pluginsSection shows each plugin stage's figures.
func (e *Edge) pluginsSection(f status.Figures) status.Section {
	sec := status.Section{Title: "Plugin stages"}
	cfg := e.live.Load()
	if len(cfg.Plugins) == 0 {
		sec.Note = "No plugins: batches go to the queue as ingested."
		return sec
	}
	sec.Table = &status.Table{Head: []string{"stage", "calls", "samples in", "ns/sample", "errors", "quarantined"}}
	for _, pc := range cfg.Plugins {
		name := pc.Name
		if name == "" {
			name = pc.Module
		}
		k := func(metric string) string { return status.Key(metric, "stage", name) }
		nsPerSample := "—"
		if in := f[k("edgerelay_plugin_samples_in_total")]; in > 0 {
			nsPerSample = fmt.Sprintf("%.0f", f[k("edgerelay_plugin_seconds_total")]*1e9/in)
		}
		errs := f.SumWith("edgerelay_plugin_errors_total", "stage", name)
		q := f.Cell(k("edgerelay_plugin_quarantined"))
		if q.Value == "1" {
			q.Class = "bad"
		}
		errCell := status.Row{Value: status.Num(errs)}
		if errs > 0 {
			errCell.Class = "bad"
		}
		sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: name},
			f.Cell(k("edgerelay_plugin_calls_total")), f.Cell(k("edgerelay_plugin_samples_in_total")),
			{Value: nsPerSample}, errCell, q})
	}
	sec.Rows = []status.Row{f.M("new series (through the series-level stages)", "edgerelay_plugin_cache_misses_total"),
		f.M("series from the memo cache", "edgerelay_plugin_cache_hits_total")}
	return sec
}

// drain says how the queue goes to the cloud now.
func (e *Edge) drain() string {
	switch {
	case e.ups == nil && e.fwds[0].Beside():
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
	b, n := e.sent()
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f (%s for %s samples)", b/n, humanize.IBytes(uint64(b)), humanize.Comma(int64(n)))
}
