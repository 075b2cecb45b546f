package limits

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
)

// gauges are the configured limits exported per tenant as
// edgerelay_cloud_limit_<key>.
var gauges = []struct {
	key string
	of  func(config.Limits) float64
}{
	{"max_series", func(l config.Limits) float64 { return float64(l.MaxSeries) }},
	{"max_base_series", func(l config.Limits) float64 { return float64(l.MaxBaseSeries) }},
	{"max_samples_per_second", func(l config.Limits) float64 { return float64(l.MaxSamplesPerSecond) }},
	{"max_bytes_per_second", func(l config.Limits) float64 { return float64(l.MaxBytesPerSecond) }},
	{"max_labels_per_series", func(l config.Limits) float64 { return float64(l.MaxLabelsPerSeries) }},
	{"max_label_name_length", func(l config.Limits) float64 { return float64(l.MaxLabelNameLength) }},
	{"max_label_value_length", func(l config.Limits) float64 { return float64(l.MaxLabelValueLength) }},
	{"max_metadata_length", func(l config.Limits) float64 { return float64(l.MaxMetadataLength) }},
	{"max_metadata_families", func(l config.Limits) float64 { return float64(l.MaxMetadataFamilies) }},
	{"max_connections", func(l config.Limits) float64 { return float64(l.MaxConnections) }},
	{"max_queues_per_site", func(l config.Limits) float64 { return float64(l.MaxQueuesPerSite) }},
}

var (
	gaugeDescs = func() []*prometheus.Desc {
		d := make([]*prometheus.Desc, len(gauges))
		for i, g := range gauges {
			d[i] = prometheus.NewDesc("edgerelay_cloud_limit_"+g.key,
				"The configured cloud.limits."+g.key+" of a tenant (its cloud.tenants[].limits over cloud.limits).", []string{"tenant"}, nil)
		}
		return d
	}()
	activeDesc = prometheus.NewDesc("edgerelay_cloud_active_series",
		"Active series of a tenant, as its max_series limit counts them (seen within federate.max_age).", []string{"tenant"}, nil)
)

// collector exports the limits and active series of every tenant
// configured or seen; the tenant label's values are bounded by them.
type collector Limiter

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range gaugeDescs {
		ch <- d
	}
	ch <- activeDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	l := (*Limiter)(c)
	for _, t := range l.Tenants() {
		lim := l.of(t)
		for i, g := range gauges {
			ch <- prometheus.MustNewConstMetric(gaugeDescs[i], prometheus.GaugeValue, g.of(lim), t)
		}
		ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(l.ActiveSeries(t)), t)
	}
}
