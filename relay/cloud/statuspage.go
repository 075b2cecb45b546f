package cloud

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/version"
)

// maxSiteRows bounds the sites the status page lists; /metrics has them all.
const maxSiteRows = 100

// statusPage is the cloud's status page. Its figures are read from the
// registry /metrics serves, at the moment the page is built.
func (c *Cloud) statusPage() status.Page {
	f := status.Gather(c.reg)
	now := time.Now()
	tenants := "any (no cloud.tenants configured)"
	if listed := c.auth.listed(); listed != nil {
		tenants = fmt.Sprintf("%d configured", len(listed))
	}
	p := status.Page{
		Role: "cloud", Version: version.String(), Started: c.started,
		Links: []status.Row{{Name: "/federate", Value: `/federate?match[]={job=~".+"}`}, {Name: "/metrics", Value: "/metrics"},
			{Name: "/api/v1/stream", Value: `/api/v1/stream?match[]={job=~".+"}`}},
	}
	if c.rel != nil {
		p.Sections = append(p.Sections, c.rel.Section())
	}
	p.Sections = append(p.Sections,
		status.Section{Title: "Received", Rows: []status.Row{
			f.M("samples accepted", "edgerelay_received_samples_total"),
			f.M("blocks accepted", status.Key("edgerelay_cloud_blocks_total", "outcome", "accepted")),
			f.M("blocks already handled (duplicates)", status.Key("edgerelay_cloud_blocks_total", "outcome", "duplicate")),
			f.M("edge connections open", "edgerelay_transport_connections_open"),
			{Name: "edges refused (all reasons)", Value: status.Num(f.Sum("edgerelay_cloud_auth_refused_total"))},
		}},
		c.sitesSection(f, now),
		c.outputsSection(f),
		c.limitsHitSection(f),
		status.Section{Title: "Listeners", Rows: []status.Row{status.R("QUIC", c.srv.Addr().String()), status.R("HTTP", c.ln.Addr().String()), status.R("HTTP access", c.access.describe())}},
		status.Section{Title: "Tenants", Rows: []status.Row{status.R("accepted", tenants), status.R("identity from", c.auth.describe())}},
		c.limitsSection(),
	)
	return p
}

// sitesSection lists each site's last block, lag and cost on the wire.
func (c *Cloud) sitesSection(f status.Figures, now time.Time) status.Section {
	sec := status.Section{Title: "Sites", Table: &status.Table{Head: []string{"tenant", "site", "last block", "lag", "samples", "bytes/sample"}}}
	rows := c.sites.list()
	if len(rows) == 0 {
		sec.Note = "No edge has delivered a block since start."
	}
	for i, r := range rows {
		if i == maxSiteRows {
			sec.Note = fmt.Sprintf("%d more sites: see edgerelay_cloud_site_* on /metrics.", len(rows)-maxSiteRows)
			break
		}
		k := func(name string) string { return status.Key(name, "site", r.site, "tenant", r.tenant) }
		lag := "—"
		if r.newest > 0 {
			lag = status.Age(now.Sub(time.UnixMilli(r.newest)))
		}
		perSample := "—"
		if r.samples > 0 {
			perSample = fmt.Sprintf("%.2f", r.bytes/r.samples)
		}
		sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: r.tenant}, {Value: r.site},
			{Value: status.Age(now.Sub(r.lastSeen)) + " ago"}, {Value: lag},
			f.Cell(k("edgerelay_cloud_site_received_samples_total")), {Value: perSample}})
	}
	return sec
}

// outputsSection shows what each output did: files, each remote_write
// endpoint, /federate.
func (c *Cloud) outputsSection(f status.Figures) status.Section {
	sec := status.Section{Title: "Outputs", Table: &status.Table{Head: []string{"output", "written / sent", "refused or failed", "lag"}}}
	sec.Note = "Files go to " + c.cfg.FilesDir + "."
	sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: "files"},
		f.Cell("edgerelay_files_written_total"), f.Cell("edgerelay_files_errors_total"), {Value: "—"}})
	var remotes []string
	for k := range f {
		if rest, ok := strings.CutPrefix(k, `edgerelay_remote_write_sent_samples_total{remote="`); ok {
			remotes = append(remotes, strings.TrimSuffix(rest, `"}`))
		}
	}
	sort.Strings(remotes)
	for _, r := range remotes {
		k := func(name string) string { return status.Key(name, "remote", r) }
		lag := f.Cell(k("edgerelay_remote_write_oldest_pending_age_seconds"))
		if lag.Metric != "" {
			lag.Value += "s"
		}
		sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: "remote_write " + r},
			f.Cell(k("edgerelay_remote_write_sent_samples_total")), f.Cell(k("edgerelay_remote_write_dropped_samples_total")), lag})
	}
	sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: "/federate (series held)"}, f.Cell("edgerelay_federate_series"), {Value: "—"}, {Value: "—"}})
	sec.Rows = []status.Row{status.R("stream subscribers", fmt.Sprint(c.stream.Subscribers())), status.R("notify", c.notify.Describe()),
		status.R("metric families with remote_write metadata", fmt.Sprint(c.meta.Families()))}
	return sec
}

// limitsHitSection lists, per tenant and reason, the samples refused and
// the time acknowledgements were held back.
func (c *Cloud) limitsHitSection(f status.Figures) status.Section {
	sec := status.Section{Title: "Limits hit", Table: &status.Table{Head: []string{"tenant", "limit", "samples refused / seconds throttled"}}}
	var keys []string
	for k, v := range f {
		if v > 0 && (strings.HasPrefix(k, "edgerelay_cloud_refused_samples_total{") || strings.HasPrefix(k, "edgerelay_cloud_throttled_seconds_total{")) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		labels := parseLabels(k)
		what := labels["reason"]
		if what == "" {
			what = "throttled: " + labels["limit"]
		}
		cell := f.Cell(k)
		cell.Class = "bad"
		sec.Table.Rows = append(sec.Table.Rows, []status.Row{{Value: labels["tenant"]}, {Value: what}, cell})
	}
	if len(keys) == 0 {
		sec.Table, sec.Note = nil, "No tenant has hit a limit since start."
	}
	return sec
}

// parseLabels reads the labels of a series key as status.Key writes it.
func parseLabels(key string) map[string]string {
	out := map[string]string{}
	_, rest, _ := strings.Cut(key, "{")
	for p := range strings.SplitSeq(strings.TrimSuffix(rest, "}"), ",") {
		name, v, ok := strings.Cut(p, "=")
		if ok {
			out[name] = strings.Trim(v, `"`)
		}
	}
	return out
}
