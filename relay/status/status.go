// Package status renders the small HTML status page each role serves at /
// and the health endpoints both share. Handlers are safe for concurrent use.
package status

import (
	"html/template"
	"net/http"
	"net/http/pprof"
	"time"
)

// Row is one line of the status page.
type Row struct {
	Name, Value string
}

// Section groups rows under a heading.
type Section struct {
	Title string
	Rows  []Row
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
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td{padding:.2rem 1rem .2rem 0;vertical-align:top}
td:first-child{color:#666}code{background:#f4f4f4;padding:0 .2rem}
</style></head><body>
<h1>edgerelay — {{.Role}}</h1>
<p>version <code>{{.Version}}</code>, up since {{.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}</p>
<p>{{range .Links}}<a href="{{.Value}}">{{.Name}}</a> &nbsp; {{end}}</p>
{{range .Sections}}<h2>{{.Title}}</h2><table>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>{{end}}
</body></html>
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
