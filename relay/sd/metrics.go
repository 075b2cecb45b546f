package sd

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the discovery metrics, under Prometheus' names: the
// manager's (prometheus_sd_discovered_targets, ..._updates_total, ...),
// the refresh loops' (prometheus_sd_refresh_failures_total,
// ..._refresh_duration_seconds) and each mechanism's (file, http, dns).
// A nil *Metrics counts nowhere.
type Metrics struct {
	reg prometheus.Registerer

	failedConfigs     prometheus.Gauge
	discoveredTargets *prometheus.GaugeVec // by config (job)
	receivedUpdates   prometheus.Counter
	delayedUpdates    prometheus.Counter
	sentUpdates       prometheus.Counter
	lastUpdated       *prometheus.GaugeVec // by config (job)

	refreshFailures *prometheus.CounterVec   // by mechanism, config
	refreshDuration *prometheus.SummaryVec   // by mechanism, config
	refreshHist     *prometheus.HistogramVec // by mechanism

	fileReadErrors    prometheus.Counter
	fileScanDuration  prometheus.Summary
	fileWatcherErrors prometheus.Counter
	fileMtime         *prometheus.GaugeVec // by filename

	httpFailures prometheus.Counter

	dnsLookups  prometheus.Counter
	dnsFailures prometheus.Counter

	extra extraMetrics // the full build's discoveries
}

var objectives = map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}

// NewMetrics builds the metrics and registers them with reg (nil: none).
// The manager's carry name="scrape", as Prometheus' scrape discovery's do.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	mgr := prometheus.Labels{"name": "scrape"}
	m := &Metrics{
		reg:               reg,
		failedConfigs:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "prometheus_sd_failed_configs", Help: "Current number of service discovery configurations that failed to load.", ConstLabels: mgr}),
		discoveredTargets: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "prometheus_sd_discovered_targets", Help: "Current number of discovered targets.", ConstLabels: mgr}, []string{"config"}),
		receivedUpdates:   prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_received_updates_total", Help: "Total number of update events received from the SD providers.", ConstLabels: mgr}),
		delayedUpdates:    prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_updates_delayed_total", Help: "Total number of update events that couldn't be sent immediately.", ConstLabels: mgr}),
		sentUpdates:       prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_updates_total", Help: "Total number of update events sent to the SD consumers.", ConstLabels: mgr}),
		lastUpdated:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "prometheus_sd_last_update_timestamp_seconds", Help: "Timestamp of the last update sent to the SD consumers.", ConstLabels: mgr}, []string{"config"}),

		refreshFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prometheus_sd_refresh_failures_total", Help: "Number of refresh failures for the given SD mechanism."}, []string{"mechanism", "config"}),
		refreshDuration: prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: "prometheus_sd_refresh_duration_seconds", Help: "The duration of a refresh in seconds for the given SD mechanism.", Objectives: objectives}, []string{"mechanism", "config"}),
		refreshHist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "prometheus_sd_refresh_duration_histogram_seconds", Help: "The duration of a refresh for the given SD mechanism.",
			Buckets: []float64{.01, .1, 1, 10}, NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 100, NativeHistogramMinResetDuration: time.Hour,
		}, []string{"mechanism"}),

		fileReadErrors:    prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_file_read_errors_total", Help: "The number of File-SD read errors."}),
		fileScanDuration:  prometheus.NewSummary(prometheus.SummaryOpts{Name: "prometheus_sd_file_scan_duration_seconds", Help: "The duration of the File-SD scan in seconds.", Objectives: objectives}),
		fileWatcherErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_file_watcher_errors_total", Help: "The number of File-SD errors caused by filesystem watch failures."}),
		fileMtime:         prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "prometheus_sd_file_mtime_seconds", Help: "Timestamp (mtime) of files read by FileSD. Timestamp is set at read time."}, []string{"filename"}),

		httpFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_http_failures_total", Help: "Number of HTTP service discovery refresh failures."}),

		dnsLookups:  prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_dns_lookups_total", Help: "The number of DNS-SD lookups."}),
		dnsFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "prometheus_sd_dns_lookup_failures_total", Help: "The number of DNS-SD lookup failures."}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{
		m.failedConfigs, m.discoveredTargets, m.receivedUpdates, m.delayedUpdates, m.sentUpdates, m.lastUpdated,
		m.refreshFailures, m.refreshDuration, m.refreshHist,
		m.fileReadErrors, m.fileScanDuration, m.fileWatcherErrors, m.fileMtime,
		m.httpFailures, m.dnsLookups, m.dnsFailures,
	} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

// noMetrics backs a nil *Metrics: counted, never registered.
var noMetrics, _ = NewMetrics(nil)

func (m *Metrics) or() *Metrics {
	if m == nil {
		return noMetrics
	}
	return m
}
