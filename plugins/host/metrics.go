package host

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the chain's collectors; a nil Registerer keeps them private.
type metrics struct {
	calls, seriesIn, seriesOut, samplesIn, samplesOut, seconds *prometheus.CounterVec
	errors                                                     *prometheus.CounterVec
	quarantined                                                *prometheus.GaugeVec
	hits, misses, evictions                                    prometheus.Counter
}

type stageMetrics struct {
	calls, seriesIn, seriesOut, samplesIn, samplesOut, seconds prometheus.Counter
	quarantined                                                prometheus.Gauge
	errors                                                     *prometheus.CounterVec
	name                                                       string
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	cv := func(name, help string, l ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgerelay_plugin_" + name, Help: help}, l)
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "edgerelay_plugin_" + name, Help: help})
	}
	m := &metrics{
		calls:       cv("calls_total", "Calls into the stage's guest.", "stage"),
		seriesIn:    cv("series_in_total", "Series entering the stage (memoised results included).", "stage"),
		seriesOut:   cv("series_out_total", "Series leaving the stage.", "stage"),
		samplesIn:   cv("samples_in_total", "Samples entering the stage.", "stage"),
		samplesOut:  cv("samples_out_total", "Samples leaving the stage.", "stage"),
		seconds:     cv("seconds_total", "Time spent in calls into the stage's guest.", "stage"),
		errors:      cv("errors_total", "Failed calls by kind: trap, timeout, oom, output, guest, restart, quarantined.", "stage", "kind"),
		quarantined: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgerelay_plugin_quarantined", Help: "1 while the stage is quarantined after repeated failures."}, []string{"stage"}),
		hits:        c("cache_hits_total", "Series whose series-level result came from the memo cache."),
		misses:      c("cache_misses_total", "Series that went through the series-level stages."),
		evictions:   c("cache_evictions_total", "Memo cache entries evicted to make room."),
	}
	if reg != nil {
		// A reloaded chain registers the same collectors again: it takes
		// over the registered ones, so counters survive reloads.
		for _, p := range []**prometheus.CounterVec{&m.calls, &m.seriesIn, &m.seriesOut, &m.samplesIn, &m.samplesOut, &m.seconds, &m.errors} {
			var err error
			if *p, err = registered(reg, *p); err != nil {
				return nil, err
			}
		}
		var err error
		if m.quarantined, err = registered(reg, m.quarantined); err != nil {
			return nil, err
		}
		for _, c := range []*prometheus.Counter{&m.hits, &m.misses, &m.evictions} {
			if *c, err = registered(reg, *c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) forStage(name string) *stageMetrics {
	return &stageMetrics{
		name: name, calls: m.calls.WithLabelValues(name),
		seriesIn: m.seriesIn.WithLabelValues(name), seriesOut: m.seriesOut.WithLabelValues(name),
		samplesIn: m.samplesIn.WithLabelValues(name), samplesOut: m.samplesOut.WithLabelValues(name),
		seconds: m.seconds.WithLabelValues(name), quarantined: m.quarantined.WithLabelValues(name),
		errors: m.errors,
	}
}

// registered registers c or returns the collector already registered under
// its name.
func registered[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex, nil
			}
		}
		return c, fmt.Errorf("register plugin metrics: %w", err)
	}
	return c, nil
}
