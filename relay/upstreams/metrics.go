package upstreams

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the upstreams' and the uplink gate's series.
type Metrics struct {
	droppedBlocks  *prometheus.CounterVec
	droppedSamples *prometheus.CounterVec
	ackedSeq       *prometheus.GaugeVec
	backlogBytes   *prometheus.GaugeVec
	active         *prometheus.GaugeVec
	failovers      prometheus.Counter
	paused         prometheus.Gauge
}

// NewMetrics registers the metrics on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		droppedBlocks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_upstream_dropped_blocks_total",
			Help: "Blocks dropped for one upstream only, by reason: max_backlog_bytes (its backlog cap), generation_dropped (a later block of a delta generation the cap cut).",
		}, []string{"upstream", "reason"}),
		droppedSamples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_upstream_dropped_samples_total",
			Help: "Samples in blocks dropped for one upstream only, by reason (see edgerelay_upstream_dropped_blocks_total).",
		}, []string{"upstream", "reason"}),
		ackedSeq: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgerelay_upstream_acked_seq",
			Help: "The queue sequence number through which the upstream has every block (acknowledged, or dropped for it).",
		}, []string{"upstream"}),
		backlogBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgerelay_upstream_backlog_bytes",
			Help: "Queued bytes the upstream has not acknowledged (refreshed every few seconds).",
		}, []string{"upstream"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgerelay_upstream_active",
			Help: "1 for an upstream the edge ships to now (every one in replicate mode, the current one in failover; edge.upstream is named default), else 0; all 0 while paused.",
		}, []string{"upstream"}),
		failovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_upstream_failovers_total",
			Help: "Switches to the next upstream after failover_after without progress.",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgerelay_uplink_paused",
			Help: "1 while the uplink is paused (POST /-/uplink/pause or edge.uplink.schedule): blocks queue and are not sent.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.droppedBlocks, m.droppedSamples, m.ackedSeq, m.backlogBytes, m.active, m.failovers, m.paused)
	}
	return m
}

// metrics is a *Metrics that may be nil.
type metrics struct{ *Metrics }

func (m *Metrics) m() *metrics {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &metrics{m}
}

func (m *metrics) dropped(up, reason string, blocks, samples int64) {
	if blocks == 0 {
		return
	}
	m.droppedBlocks.WithLabelValues(up, reason).Add(float64(blocks))
	m.droppedSamples.WithLabelValues(up, reason).Add(float64(samples))
}

func (m *metrics) acked(up string, seq uint64) { m.ackedSeq.WithLabelValues(up).Set(float64(seq)) }

// init makes every upstream's series visible from the start.
func (m *metrics) init(up string, acked uint64) {
	for _, r := range []string{reasonBacklog, reasonGeneration} {
		m.droppedBlocks.WithLabelValues(up, r)
		m.droppedSamples.WithLabelValues(up, r)
	}
	m.acked(up, acked)
	m.backlogBytes.WithLabelValues(up)
	m.active.WithLabelValues(up)
}
