// Package status renders the small HTML status page each role serves at /
// and the health endpoints both share. Handlers are safe for concurrent use.
package status

import (
	"html/template"
	"net/http"
	"net/http/pprof"
	"time"
)

// Row is one line of the status page. When Metric names a series of the
// role's /metrics (as the exposition writes it: name{label="value",...}),
// Value shows that series' value and the cell carries the name in its
// data-metric attribute, so a reader can tell where a figure comes from.
type Row struct {
	Name, Value string
	Metric      string
	Class       string // "ok", "bad" or "": colours the value
}

// Section groups rows, a table and a chart under a heading.
type Section struct {
	Title string
	Note  string
	Rows  []Row
	Table *Table
	Chart template.HTML // an inline SVG (Chart.SVG)
}

// Table is a table of cells under a header.
type Table struct {
	Head []string
	Rows [][]Row // each Row a cell: Value, Metric and Class as in a Row
}

// Page is what the status page shows.
type Page struct {
	Role     string
	Version  string
	Started  time.Time
	Links    []Row // Name is the label, Value the path
	Sections []Section
}

var page = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgerelay {{.Role}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1rem;color:#222;max-width:72rem}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.4rem;border-bottom:1px solid #ddd}
.wrap{overflow-x:auto}table{border-collapse:collapse;font-size:.95rem}td,th{padding:.2rem .8rem .2rem 0;vertical-align:top;text-align:left}
@media (max-width:40rem){body{margin:.6rem}table{font-size:.85rem}td,th{padding-right:.5rem}}
th{font-weight:600;border-bottom:1px solid #ddd;white-space:nowrap}.kv td:first-child{color:#666}
code{background:#f4f4f4;padding:0 .2rem}.ok{color:#17692d}.bad{color:#b3261e;font-weight:600}
.note{color:#666;font-size:.9rem}svg{max-width:100%;height:auto}
</style></head><body>
<h1>edgerelay — {{.Role}}</h1>
<p>version <code>{{.Version}}</code>, up since {{.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}</p>
<p>{{range .Links}}<a href="{{.Value}}">{{.Name}}</a> &nbsp; {{end}}</p>
{{range .Sections}}<h2>{{.Title}}</h2>{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if .Rows}}<div class="wrap"><table class="kv">
{{range .Rows}}<tr><td>{{.Name}}</td>{{template "cell" .}}</tr>
{{end}}</table></div>{{end}}
{{with .Table}}<div class="wrap"><table><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}{{template "cell" .}}{{end}}</tr>
{{end}}</table></div>{{end}}
{{if .Chart}}<div>{{.Chart}}</div>{{end}}
{{end}}
</body></html>
{{define "cell"}}<td{{if .Class}} class="{{.Class}}"{{end}}{{if .Metric}} data-metric="{{.Metric}}"{{end}}>{{.Value}}</td>{{end}}
`))

// Handler serves the page built by fn at "/" only; other paths are 404.
func Handler(fn func() Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, fn()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// Healthy answers 200 while the process serves HTTP.
func Healthy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("edgerelay is healthy.\n"))
	})
}

// Ready answers 200 when ready reports true, 503 otherwise.
func Ready(ready func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "edgerelay is not ready.", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("edgerelay is ready.\n"))
	})
}

// R is a Row with name and value.
func R(name, value string) Row { return Row{Name: name, Value: value} }

// Pprof serves Go's runtime profiles under /debug/pprof/, as Prometheus
// and vmagent do. The roles mount it only when debug.pprof asks, behind
// their listener's authentication: profiles show the command line and cost
// CPU to take.
func Pprof() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}
