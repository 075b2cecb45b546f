package ingest

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// loopMetrics are what the edge's scrape loop counts, under Prometheus'
// names for its scrape counters (edgerelay_prometheus_target_...):
// registering the same description again returns the collector already
// registered, so two Scrapers on one Registerer count in one place.
type loopMetrics struct {
	ingested prometheus.Counter
	rejected *prometheus.CounterVec

	duplicate, outOfBounds, sampleLimit, bucketLimit prometheus.Counter
	labelLimits, bodySize, targetLimit               prometheus.Counter
	// scrapeDuration: each scrape from start to commit, observed with
	// extra_scrape_metrics, as in Prometheus.
	scrapeDuration prometheus.Histogram
}

func newLoopMetrics(promReg prometheus.Registerer, ingested prometheus.Counter, rejected *prometheus.CounterVec) (*loopMetrics, error) {
	m := &loopMetrics{ingested: ingested, rejected: rejected}
	for _, c := range []struct {
		dst        *prometheus.Counter
		name, help string
	}{
		{&m.duplicate, "prometheus_target_scrapes_sample_duplicate_timestamp_total", "Total number of samples rejected due to duplicate timestamps but different values."},
		{&m.outOfBounds, "prometheus_target_scrapes_sample_out_of_bounds_total", "Total number of samples rejected due to timestamp falling outside of the time bounds."},
		{&m.sampleLimit, "prometheus_target_scrapes_exceeded_sample_limit_total", "Total number of scrapes that hit the sample limit and were rejected."},
		{&m.bucketLimit, "prometheus_target_scrapes_exceeded_native_histogram_bucket_limit_total", "Total number of scrapes that hit the native histogram bucket limit and were rejected."},
		{&m.labelLimits, "prometheus_target_scrape_pool_exceeded_label_limits_total", "Total number of times scrape pools hit the label limits, during sync or config reload."},
		{&m.bodySize, "prometheus_target_scrapes_exceeded_body_size_limit_total", "Total number of scrapes that hit the body size limit"},
		{&m.targetLimit, "prometheus_target_scrape_pool_exceeded_target_limit_total", "Total number of times scrape pools hit the target limit, during sync or config reload."},
	} {
		ctr, err := registerCounter(promReg, prometheus.CounterOpts{Name: c.name, Help: c.help})
		if err != nil {
			return nil, err
		}
		*c.dst = ctr
	}
	m.scrapeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "prometheus_target_scrape_duration_seconds", Help: "Total duration of the scrape from start to commit completion in seconds.",
		NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100, NativeHistogramMinResetDuration: time.Hour,
	})
	if err := promReg.Register(m.scrapeDuration); err != nil {
		var are prometheus.AlreadyRegisteredError
		h, ok := m.scrapeDuration, false
		if errors.As(err, &are) {
			h, ok = are.ExistingCollector.(prometheus.Histogram)
		}
		if !ok {
			return nil, fmt.Errorf("register prometheus_target_scrape_duration_seconds: %w", err)
		}
		m.scrapeDuration = h
	}
	return m, nil
}

// registerCounter registers a counter on reg, or returns the one already
// registered with the same description.
func registerCounter(reg prometheus.Registerer, opts prometheus.CounterOpts) (prometheus.Counter, error) {
	c := prometheus.NewCounter(opts)
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("register %s: %w", opts.Name, err)
	}
	return c, nil
}
