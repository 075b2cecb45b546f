package forward

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// errorKinds are the values of edgerelay_uplink_errors_total's kind label.
var errorKinds = []string{"dial", "refused", "nack", "disconnect", "queue", "too_large"}

type metrics struct {
	sentBytes   prometheus.Counter
	sentSamples prometheus.Counter
	sentBlocks  prometheus.Counter
	lastAck     prometheus.Gauge
	reconnects  prometheus.Counter
	connected   prometheus.Gauge
	lanes       prometheus.Gauge
	held        prometheus.Counter
	replayed    prometheus.Counter
	redirects   prometheus.Counter
	errors      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sentBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_sent_bytes_total",
			Help: "Bytes written to the QUIC uplink stream, framing included (resends too).",
		}),
		sentSamples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_sent_samples_total",
			Help: "Samples in blocks acknowledged by the cloud.",
		}),
		sentBlocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_sent_blocks_total",
			Help: "Blocks acknowledged by the cloud.",
		}),
		lastAck: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgerelay_uplink_last_ack_timestamp_seconds",
			Help: "When the cloud last acknowledged a block, as a Unix timestamp; 0 before the first.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_reconnects_total",
			Help: "Connection attempts after the first one (after a failed attempt or a lost connection).",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgerelay_uplink_connected",
			Help: "1 while the uplink to the cloud is connected and authenticated, else 0.",
		}),
		lanes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgerelay_uplink_lanes",
			Help: "Queue lanes being sent: 2 while a backlog drains beside live data (queue.replay_share), else 1; 0 when not connected.",
		}),
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_already_held_blocks_total",
			Help: "Queued blocks removed without sending because the cloud said it holds them (imported from a bundle, or acknowledgements lost).",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_replayed_blocks_total",
			Help: "Acknowledged blocks sent again (BASE frames) so that a cloud lacking their delta bases (it took the site over from a cloud that died) rebuilds them; the cloud writes nothing of them.",
		}),
		redirects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_uplink_redirects_followed_total",
			Help: "Redirects followed: a cloud of a cluster named the cloud serving this site, and the edge connected there.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_uplink_errors_total",
			Help: "Uplink failures by kind: dial, refused, nack, disconnect, queue, too_large (a block over the cloud's limit, dropped).",
		}, []string{"kind"}),
	}
	for _, k := range errorKinds {
		m.errors.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sentBytes, m.sentSamples, m.sentBlocks, m.lastAck, m.reconnects, m.connected, m.lanes, m.held, m.replayed, m.redirects, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// Sent returns the bytes written to the uplink and the samples in blocks
// the cloud acknowledged, since New (what /metrics shows as
// edgerelay_uplink_sent_bytes_total and _samples_total).
func (f *Forwarder) Sent() (bytes, samples float64) {
	return counterValue(f.m.sentBytes), counterValue(f.m.sentSamples)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
