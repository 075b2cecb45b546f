package rwout

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
)

// Native histograms and exemplars go out as remote_write 1.0 carries them:
// prompb.Histogram (integer counts as deltas, or float counts; schema, zero
// bucket, spans, custom values and reset hint exact) and prompb.Exemplar,
// as Prometheus sends them — when the remote_write config asks, with
// send_native_histograms and send_exemplars (both off by default, as in
// Prometheus, since an endpoint that does not know them may refuse whole
// requests). What a config leaves out is counted as withheld, and the
// first one is logged naming the key. An exemplar without a timestamp goes
// out with its series' newest sample timestamp (the batch's when the series
// has none), as Prometheus' scraper stamps one. A histogram staleness marker
// is forwarded like a float one.

// nativeMetrics counts histogram samples and exemplars per outcome.
type nativeMetrics struct {
	sentH, sentE, droppedH, droppedE, withheldH, withheldE prometheus.Counter
}

func newNativeMetrics(reg prometheus.Registerer, cl prometheus.Labels) nativeMetrics {
	c := func(name, help string) prometheus.Counter { return counter(cl, name, help) }
	m := nativeMetrics{
		sentH:     c("sent_histograms_total", "Native histogram samples accepted by the remote_write endpoint."),
		sentE:     c("sent_exemplars_total", "Exemplars accepted by the remote_write endpoint."),
		droppedH:  c("dropped_histograms_total", "Native histogram samples dropped (for the reasons of dropped_samples_total)."),
		droppedE:  c("dropped_exemplars_total", "Exemplars dropped (for the reasons of dropped_samples_total)."),
		withheldH: c("withheld_histograms_total", "Native histogram samples not sent because send_native_histograms is false."),
		withheldE: c("withheld_exemplars_total", "Exemplars not sent because send_exemplars is false."),
	}
	if reg != nil {
		reg.MustRegister(m.sentH, m.sentE, m.droppedH, m.droppedE, m.withheldH, m.withheldE)
	}
	return m
}

// appendNative appends the histogram samples (TimeSeries field 4) and
// exemplars (field 3) of s that the config lets out to the encoded
// TimeSeries b, and returns b, how many of each it added and the newest
// timestamp among them and newest.
func (f *Forwarder) appendNative(b []byte, s *relay.Series, batchTs, newest int64) ([]byte, int, int, int64) {
	var hists, exemplars int
	if len(s.Histograms) > 0 {
		if f.sendHistograms {
			for _, h := range s.Histograms {
				var ph prompb.Histogram
				switch {
				case h.H != nil:
					ph = prompb.FromIntHistogram(h.T, h.H)
				case h.FH != nil:
					ph = prompb.FromFloatHistogram(h.T, h.FH)
				default:
					continue
				}
				b = appendMarshaled(b, 4, &ph)
				newest = max(newest, h.T)
				hists++
			}
		} else {
			f.withhold(f.m.nm.withheldH, len(s.Histograms), "send_native_histograms")
		}
	}
	if len(s.Exemplars) > 0 {
		if !f.sendExemplars {
			f.withhold(f.m.nm.withheldE, len(s.Exemplars), "send_exemplars")
			return b, hists, 0, newest
		}
		dflt := batchTs
		if k := len(s.Samples); k > 0 {
			dflt = s.Samples[k-1].T
		} else if k := len(s.Histograms); k > 0 {
			dflt = s.Histograms[k-1].T
		}
		for _, e := range s.Exemplars {
			pe := prompb.Exemplar{Labels: make([]prompb.Label, 0, e.Labels.Len()), Value: e.Value, Timestamp: dflt}
			if e.HasTs {
				pe.Timestamp = e.Ts
			}
			e.Labels.Range(func(l labels.Label) { pe.Labels = append(pe.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
			b = appendMarshaled(b, 3, &pe)
			exemplars++
		}
	}
	return b, hists, exemplars, newest
}

// marshaler is a gogo-generated protobuf message.
type marshaler interface {
	Size() int
	MarshalToSizedBuffer([]byte) (int, error)
}

// appendMarshaled appends m as the length-delimited field to b.
func appendMarshaled(b []byte, field int, m marshaler) []byte {
	n := m.Size()
	b = appendTag(b, field, 2)
	b = appendVarint(b, uint64(n))
	b = append(b, make([]byte, n)...)
	if _, err := m.MarshalToSizedBuffer(b[len(b)-n:]); err != nil {
		panic("BUG: marshal remote_write message: " + err.Error())
	}
	return b
}

// withhold counts n items the config keeps back, logging the first time.
func (f *Forwarder) withhold(c prometheus.Counter, n int, key string) {
	c.Add(float64(n))
	if f.warned.CompareAndSwap(false, true) {
		f.log.Warn("remote_write: native histograms or exemplars are not sent; set "+key+": true to send them",
			"remote", f.name, "key", key)
	}
}
