package host

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the chain's collectors; a nil Registerer keeps them private.
type metrics struct {
	calls, seriesIn, seriesOut, samplesIn, samplesOut, seconds *prometheus.CounterVec
	errors, emitted, dropped                                   *prometheus.CounterVec
	quarantined, declared                                      *prometheus.GaugeVec
	hits, misses, evictions, derivedDropped                    prometheus.Counter
}

type stageMetrics struct {
	calls, seriesIn, seriesOut, samplesIn, samplesOut, seconds prometheus.Counter
	quarantined, declared                                      prometheus.Gauge
	emitted                                                    prometheus.Counter
	errors, dropped                                            *prometheus.CounterVec
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
		errors:      cv("errors_total", "Failed calls by kind: trap, timeout, oom, output, guest, limit, restart, quarantined.", "stage", "kind"),
		emitted:     cv("emitted_samples_total", "Samples of new series a stream stage emitted.", "stage"),
		dropped:     cv("dropped_samples_total", "Input samples a built-in stream stage left out of its work, by reason (late: its window was already emitted).", "stage", "reason"),
		declared:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgerelay_plugin_declared_series", Help: "New series a stream stage has declared and not retired (bounded by limits.max_series)."}, []string{"stage"}),
		quarantined: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgerelay_plugin_quarantined", Help: "1 while the stage is quarantined after repeated failures."}, []string{"stage"}),
		hits:        c("cache_hits_total", "Series whose series-level result came from the memo cache."),
		misses:      c("cache_misses_total", "Series that went through the series-level stages."),
		evictions:   c("cache_evictions_total", "Memo cache entries evicted to make room."),
		derivedDropped: c("derived_dropped_series_total",
			"Series emitted by stream stages from scrapes and dropped because more than 100000 were waiting to be shipped."),
	}
	if reg != nil {
		// A reloaded chain registers the same collectors again: it takes
		// over the registered ones, so counters survive reloads.
		for _, p := range []**prometheus.CounterVec{&m.calls, &m.seriesIn, &m.seriesOut, &m.samplesIn, &m.samplesOut, &m.seconds, &m.errors, &m.emitted, &m.dropped} {
			var err error
			if *p, err = registered(reg, *p); err != nil {
				return nil, err
			}
		}
		var err error
		for _, g := range []**prometheus.GaugeVec{&m.quarantined, &m.declared} {
			if *g, err = registered(reg, *g); err != nil {
				return nil, err
			}
		}
		for _, c := range []*prometheus.Counter{&m.hits, &m.misses, &m.evictions, &m.derivedDropped} {
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
		emitted: m.emitted.WithLabelValues(name), declared: m.declared.WithLabelValues(name),
		errors: m.errors, dropped: m.dropped,
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
