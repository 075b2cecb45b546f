package files

import (
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// withoutStale returns b without its staleness markers: float samples
// whose value is Prometheus' StaleNaN and histogram samples whose sum is,
// and series left with no sample and no exemplar. b itself is never changed; when
// it holds no marker, it is returned as it is.
func withoutStale(b *relay.Batch) *relay.Batch {
	first := -1
	for i := range b.Series {
		if hasStale(&b.Series[i]) {
			first = i
			break
		}
	}
	if first < 0 {
		return b
	}
	out := *b
	out.Series = make([]relay.Series, first, len(b.Series))
	copy(out.Series, b.Series[:first])
	for i := first; i < len(b.Series); i++ {
		s := &b.Series[i]
		if !hasStale(s) {
			out.Series = append(out.Series, *s)
			continue
		}
		kept := relay.Series{Labels: s.Labels}
		for _, smp := range s.Samples {
			if !value.IsStaleNaN(smp.V) {
				kept.Samples = append(kept.Samples, smp)
			}
		}
		for _, h := range s.Histograms {
			if !h.IsStale() {
				kept.Histograms = append(kept.Histograms, h)
			}
		}
		kept.Exemplars = s.Exemplars // not values: they stay with their series
		if len(kept.Samples) == 0 && len(kept.Histograms) == 0 && len(kept.Exemplars) == 0 {
			continue
		}
		out.Series = append(out.Series, kept)
	}
	return &out
}

// hasStale reports whether s holds a staleness marker.
func hasStale(s *relay.Series) bool {
	for _, smp := range s.Samples {
		if value.IsStaleNaN(smp.V) {
			return true
		}
	}
	for _, h := range s.Histograms {
		if h.IsStale() {
			return true
		}
	}
	return false
}
