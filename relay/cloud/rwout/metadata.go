package rwout

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
)

// maxMetadataFamilies bounds the metric families whose metadata a
// Forwarder remembers; metadata of families past it is still sent with the
// batch that carries it, but not repeated each interval.
const maxMetadataFamilies = 100_000

// metadataSender decides which metric families' metadata goes out with a
// request, as Prometheus' metadata_config asks: every family whose
// metadata is new or changed at once, and all known families again every
// send_interval so a receiver that lost them (restarted, or joined late)
// relearns them. Safe for concurrent use.
type metadataSender struct {
	interval time.Duration
	now      func() time.Time

	mu       sync.Mutex
	known    map[string]relay.Metadata
	lastFull time.Time
	overflow int // families not remembered because of maxMetadataFamilies
}

func newMetadataSender(interval time.Duration) *metadataSender {
	return &metadataSender{interval: interval, now: time.Now, known: map[string]relay.Metadata{}}
}

// take returns the metadata to send with b's samples, sorted by family.
func (m *metadataSender) take(b *relay.Batch) []prompb.MetricMetadata {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []prompb.MetricMetadata
	for family, md := range b.Metadata {
		if old, ok := m.known[family]; ok && old == md {
			continue
		}
		if _, ok := m.known[family]; ok || len(m.known) < maxMetadataFamilies {
			m.known[family] = md
		} else {
			m.overflow++
		}
		out = append(out, metricMetadata(family, md))
	}
	if now := m.now(); now.Sub(m.lastFull) >= m.interval {
		m.lastFull = now
		out = out[:0]
		for family, md := range m.known {
			out = append(out, metricMetadata(family, md))
		}
		for family, md := range b.Metadata {
			if _, ok := m.known[family]; !ok {
				out = append(out, metricMetadata(family, md))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MetricFamilyName < out[j].MetricFamilyName })
	return out
}

// forget makes the families of mds new again, so that metadata a failed
// request carried is sent with the next one.
func (m *metadataSender) forget(mds []prompb.MetricMetadata) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, md := range mds {
		delete(m.known, md.MetricFamilyName)
	}
}

func metricMetadata(family string, md relay.Metadata) prompb.MetricMetadata {
	return prompb.MetricMetadata{
		MetricFamilyName: family,
		Type:             prompb.FromMetadataType(model.MetricType(md.Type)),
		Help:             md.Help,
		Unit:             md.Unit,
	}
}
