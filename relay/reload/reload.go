// Package reload runs a process's configuration reloads (SIGHUP, POST
// /-/reload, a changed plugin module) one at a time and keeps the outcome
// of the last one for /metrics, the status page and the log. What a reload
// does is the caller's function; a Reloader only orders, records and
// reports. Safe for concurrent use.
package reload

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/status"
)

// Func re-reads the configuration and applies it; an error leaves the
// running configuration in place and says why.
type Func func(ctx context.Context) error

// Outcome is what the last reload did.
type Outcome struct {
	// OK is false when the last reload failed.
	OK bool
	// At is when the last reload ended (or the process started).
	At time.Time
	// LastSuccess is when the configuration last loaded (at start, or the
	// last reload that succeeded).
	LastSuccess time.Time
	// Trigger says what asked for the last reload: "SIGHUP", "POST /-/reload", ...
	Trigger string
	// Err is why the last reload failed; "" when it succeeded.
	Err string
	// Reloads and Failures count reloads since start.
	Reloads, Failures int
}

// Reloader runs reloads one at a time.
type Reloader struct {
	fn        Func
	log       *slog.Logger
	lifecycle bool
	mu        sync.Mutex // held during a reload
	last      atomic.Pointer[Outcome]
}

// New returns a Reloader running fn. lifecycle enables POST /-/reload
// (run's --web.enable-lifecycle); without it the path answers 403.
func New(fn Func, lifecycle bool, log *slog.Logger) *Reloader {
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{fn: fn, log: log, lifecycle: lifecycle}
	now := time.Now()
	r.last.Store(&Outcome{OK: true, At: now, LastSuccess: now, Trigger: "start"})
	return r
}

// Reload runs the reload function, once any reload in progress has ended,
// and records and logs its outcome. trigger names what asked for it.
func (r *Reloader) Reload(ctx context.Context, trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	err := r.fn(ctx)
	prev := r.last.Load()
	o := &Outcome{OK: err == nil, At: time.Now(), LastSuccess: prev.LastSuccess, Trigger: trigger,
		Reloads: prev.Reloads + 1, Failures: prev.Failures}
	if err != nil {
		o.Err = err.Error()
		o.Failures++
		r.log.Error("configuration reload failed; the running configuration is kept", "trigger", trigger, "err", err)
	} else {
		o.LastSuccess = o.At
		r.log.Info("configuration reloaded", "trigger", trigger, "took", time.Since(start))
	}
	r.last.Store(o)
	return err
}

// Last returns the outcome of the last reload.
func (r *Reloader) Last() Outcome { return *r.last.Load() }

var (
	successDesc = prometheus.NewDesc("edgerelay_config_last_reload_successful",
		"Whether the last configuration reload succeeded (1) or failed (0); the running configuration is then the one loaded before.", nil, nil)
	timestampDesc = prometheus.NewDesc("edgerelay_config_last_reload_success_timestamp_seconds",
		"When the configuration last loaded successfully (at start, or the last reload that succeeded), as a Unix timestamp.", nil, nil)
	reloadsDesc = prometheus.NewDesc("edgerelay_config_reloads_total",
		"Configuration reloads since start, by outcome: success, failure.", []string{"outcome"}, nil)
)

// Describe implements prometheus.Collector: each role registers the
// Reloader with its own registry.
func (r *Reloader) Describe(ch chan<- *prometheus.Desc) {
	ch <- successDesc
	ch <- timestampDesc
	ch <- reloadsDesc
}

// Collect implements prometheus.Collector.
func (r *Reloader) Collect(ch chan<- prometheus.Metric) {
	o := r.last.Load()
	ok := 0.0
	if o.OK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(timestampDesc, prometheus.GaugeValue, float64(o.LastSuccess.UnixMilli())/1e3)
	ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(o.Reloads-o.Failures), "success")
	ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(o.Failures), "failure")
}

// Handler serves POST /-/reload: 200 once the configuration is reloaded,
// 500 with the reason when the reload failed (the running configuration
// is kept), 403 unless the lifecycle API is enabled, 405 for other methods.
func (r *Reloader) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost && req.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		if !r.lifecycle {
			http.Error(w, "the lifecycle API is not enabled: start edgerelay run with --web.enable-lifecycle, or send SIGHUP", http.StatusForbidden)
			return
		}
		// A client that goes away does not cut a reload short.
		if err := r.Reload(context.WithoutCancel(req.Context()), "POST /-/reload"); err != nil {
			http.Error(w, "reload failed; the running configuration is kept: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("configuration reloaded\n"))
	})
}

// Section is the status page's account of the configuration: the last
// reload's outcome, and why it failed.
func (r *Reloader) Section() status.Section {
	o := r.Last()
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
	sec := status.Section{Title: "Configuration"}
	if o.OK {
		sec.Rows = append(sec.Rows, status.R("last reload", fmt.Sprintf("successful at %s (%s)", at(o.At), o.Trigger)))
	} else {
		sec.Rows = append(sec.Rows,
			status.R("last reload", fmt.Sprintf("FAILED at %s (%s); running the configuration loaded at %s", at(o.At), o.Trigger, at(o.LastSuccess))),
			status.R("reason", o.Err))
	}
	sec.Rows = append(sec.Rows, status.R("reloads", fmt.Sprintf("%d, %d failed (SIGHUP; POST /-/reload %s)", o.Reloads, o.Failures, r.lifecycleState())))
	return sec
}

// Lifecycle reports whether the lifecycle API (POST /-/reload and the
// edge's /-/uplink/pause and /-/uplink/resume) is enabled.
func (r *Reloader) Lifecycle() bool { return r.lifecycle }

func (r *Reloader) lifecycleState() string {
	if r.lifecycle {
		return "enabled"
	}
	return "disabled: --web.enable-lifecycle"
}
