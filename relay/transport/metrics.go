package transport

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type serverMetrics struct {
	connections prometheus.Counter
	open        prometheus.Gauge
	refused     prometheus.Counter
	malformed   prometheus.Counter
	blocks      prometheus.Counter
	groups      prometheus.Counter
	bytes       prometheus.Counter
	nacks       prometheus.Counter
	handshakes  prometheus.Counter
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		connections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_connections_total",
			Help: "QUIC connections accepted from edges (TLS handshake done).",
		}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgerelay_transport_connections_open",
			Help: "Edge connections open now.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_refused_total",
			Help: "Edge connections refused at HELLO (authentication or protocol version).",
		}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_malformed_frames_total",
			Help: "Malformed, oversized or out-of-place frames; each closed its connection.",
		}),
		blocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_received_blocks_total",
			Help: "Blocks received and handed to the handler.",
		}),
		groups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_received_block_groups_total",
			Help: "Groups of blocks handed to the handler: blocks that arrived back to back are handled, and made durable, together.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_received_bytes_total",
			Help: "Block payload bytes received and handed to the handler.",
		}),
		nacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_nacks_total",
			Help: "Blocks the handler failed, answered with NACK.",
		}),
		handshakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_transport_tls_handshakes_total",
			Help: "TLS handshakes edges began (ClientHello received). Those that did not become an accepted connection (edgerelay_transport_connections_total) were refused by TLS (client certificate missing, expired or not signed by the client CA) or abandoned.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.open, m.refused, m.malformed, m.blocks, m.groups, m.bytes, m.nacks, m.handshakes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
