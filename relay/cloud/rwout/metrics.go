package rwout

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons samples are dropped, the reason label of
// edgerelay_remote_write_dropped_samples_total.
const (
	reasonRefused     = "refused"      // 4xx other than 429
	reasonRateLimited = "rate_limited" // 429 with queue_config.retry_on_http_429: false
	reasonTooOld      = "too_old"      // older than queue_config.sample_age_limit
	reasonQueueFull   = "queue_full"   // the queue reached queue_max_bytes
)

// metrics are one output's counters, each with the constant label remote.
type metrics struct {
	sent, retried prometheus.Counter
	failed        prometheus.Counter
	dropped       *prometheus.CounterVec
	requests      *prometheus.CounterVec
	skipped       prometheus.Counter
	shards        prometheus.Gauge
	nm            nativeMetrics
}

func newMetrics(reg prometheus.Registerer, name string) metrics {
	cl := prometheus.Labels{"remote": name}
	c := func(n, help string) prometheus.Counter { return counter(cl, n, help) }
	m := metrics{
		sent:    c("sent_samples_total", "Float samples accepted by the remote_write endpoint (histograms and exemplars: sent_histograms_total, sent_exemplars_total)."),
		retried: c("retried_samples_total", "Samples in requests that failed recoverably (5xx, 429, network) and were sent again."),
		failed:  c("failed_sends_total", "Requests that failed (recoverably or for good)."),
		skipped: c("skipped_blocks_total", "Blocks delivered again by an edge and not queued twice: the queue held them already."),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgerelay_remote_write_dropped_samples_total",
			Help:        "Float samples dropped, by reason: refused (4xx other than 429), rate_limited (429 with retry_on_http_429: false), too_old (sample_age_limit), queue_full (queue_max_bytes).",
			ConstLabels: cl}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgerelay_remote_write_requests_total",
			Help: "Requests to the remote_write endpoint by HTTP status code.", ConstLabels: cl}, []string{"code"}),
		shards: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgerelay_remote_write_shards",
			Help: "Concurrent senders draining the output's queue now.", ConstLabels: cl}),
	}
	for _, r := range []string{reasonRefused, reasonRateLimited, reasonTooOld, reasonQueueFull} {
		m.dropped.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.retried, m.failed, m.skipped, m.dropped, m.requests, m.shards)
	}
	m.nm = newNativeMetrics(reg, cl)
	return m
}

// counter is the counter edgerelay_remote_write_<name> of one output.
func counter(cl prometheus.Labels, name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "edgerelay_remote_write_" + name, Help: help, ConstLabels: cl})
}

// registerQueue adds the gauges of the output's queue.
func (f *Forwarder) registerQueue(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	cl := prometheus.Labels{"remote": f.name}
	g := func(n, help string, v func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_remote_write_" + n, Help: help, ConstLabels: cl}, v)
	}
	reg.MustRegister(
		g("pending_samples", "Samples in the output's durable queue, not yet taken by the endpoint.", func() float64 {
			return float64(f.queue.Stats().Samples)
		}),
		g("pending_bytes", "Bytes in the output's durable queue.", func() float64 { return float64(f.queue.Stats().Bytes) }),
		g("oldest_pending_age_seconds", "How long the oldest block in the output's queue has waited (0 when empty).", func() float64 {
			st := f.queue.Stats()
			if st.Blocks == 0 || st.OldestTime == 0 {
				return 0
			}
			return max(0, time.Since(time.UnixMilli(st.OldestTime)).Seconds())
		}),
	)
}
