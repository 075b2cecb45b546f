package limits

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// BenchmarkAdmit: the cloud's cost per series of a steady scrape (every
// series already active): label checks, hash, tracker lookup.
func BenchmarkAdmit(b *testing.B) {
	benchAdmit(b, nil)
}

func benchAdmit(b *testing.B, m *Memo) {
	cfg := config.Cloud{Limits: config.DefaultLimits}
	l := New(Config{Of: cfg.TenantLimits, SeriesIdle: time.Hour})
	const n = 2000
	src := make([]relay.Series, n)
	for i := range src {
		src[i] = relay.Series{
			Labels: labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i%64), "mode", fmt.Sprint("m", i/64),
				"instance", "host-17.example.com:9100", "job", "node", "site", "plant-7"),
			Samples: []relay.Sample{{T: 1, V: 1}},
		}
	}
	batch := &relay.Batch{Series: make([]relay.Series, n)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		batch.Series = batch.Series[:n]
		copy(batch.Series, src)
		l.AdmitMemo("acme", "plant-7", batch, m)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
}
