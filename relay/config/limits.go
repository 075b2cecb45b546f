package config

import "fmt"

// Limits bound what one tenant's edges can make the cloud hold or do
// (cloud.limits, and per tenant cloud.tenants[].limits). Zero means the
// default: in cloud.limits the DefaultLimits value, in a tenant's limits
// the value of cloud.limits. What happens at each limit is in
// docs/security.md: series and label limits refuse the samples at the
// cloud, counted per tenant and reason; rate limits delay the
// acknowledgement, so the edge keeps its blocks and slows down.
type Limits struct {
	// MaxSeries is how many active series (seen within federate.max_age)
	// a tenant may have; samples of new series past it are refused.
	// Default 200000.
	MaxSeries int `yaml:"max_series"`
	// MaxBaseSeries bounds the series the cloud holds in the tenant's
	// delta bases; past it a site's bases are dropped and the edge asked
	// for full frames. Default twice MaxSeries.
	MaxBaseSeries int `yaml:"max_base_series"`
	// MaxSamplesPerSecond is the tenant's sustained sample rate; faster,
	// acknowledgements are delayed. Default 200000.
	MaxSamplesPerSecond int `yaml:"max_samples_per_second"`
	// MaxBytesPerSecond is the tenant's sustained rate of block bytes
	// received; faster, acknowledgements are delayed. Default 64MiB.
	MaxBytesPerSecond Bytes `yaml:"max_bytes_per_second"`
	// MaxLabelsPerSeries, MaxLabelNameLength and MaxLabelValueLength bound
	// a series' labels (__name__, site and tenant included); default 30,
	// 1024 and 2048 bytes, as Mimir's.
	MaxLabelsPerSeries  int `yaml:"max_labels_per_series"`
	MaxLabelNameLength  int `yaml:"max_label_name_length"`
	MaxLabelValueLength int `yaml:"max_label_value_length"`
	// MaxMetadataLength bounds a metric family's name, HELP and unit in
	// bytes; longer metadata is refused. Default 1024.
	MaxMetadataLength int `yaml:"max_metadata_length"`
	// MaxMetadataFamilies is how many metric families' remote_write
	// metadata the cloud keeps per site. Default 20000.
	MaxMetadataFamilies int `yaml:"max_metadata_families"`
	// MaxConnections is how many uplink connections past HELLO the
	// tenant's edges may hold at once, over all its sites (each site also
	// at most 16); past it a HELLO is refused. Default 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxQueuesPerSite is how many edge queue IDs the cloud's
	// deduplication state keeps per site; past it the least recently used
	// queue's watermark is forgotten. Default 16.
	MaxQueuesPerSite int `yaml:"max_queues_per_site"`
}

// DefaultLimits are cloud.limits' defaults (MaxBaseSeries: twice MaxSeries).
var DefaultLimits = Limits{
	MaxSeries:           200000,
	MaxSamplesPerSecond: 200000,
	MaxBytesPerSecond:   64 << 20,
	MaxLabelsPerSeries:  30,
	MaxLabelNameLength:  1024,
	MaxLabelValueLength: 2048,
	MaxMetadataLength:   1024,
	MaxMetadataFamilies: 20000,
	MaxConnections:      10000,
	MaxQueuesPerSite:    16,
}

// over returns l with each zero field taken from d.
func (l Limits) over(d Limits) Limits {
	setDefault(&l.MaxSeries, d.MaxSeries)
	setDefault(&l.MaxBaseSeries, d.MaxBaseSeries)
	setDefault(&l.MaxSamplesPerSecond, d.MaxSamplesPerSecond)
	setDefault(&l.MaxBytesPerSecond, d.MaxBytesPerSecond)
	setDefault(&l.MaxLabelsPerSeries, d.MaxLabelsPerSeries)
	setDefault(&l.MaxLabelNameLength, d.MaxLabelNameLength)
	setDefault(&l.MaxLabelValueLength, d.MaxLabelValueLength)
	setDefault(&l.MaxMetadataLength, d.MaxMetadataLength)
	setDefault(&l.MaxMetadataFamilies, d.MaxMetadataFamilies)
	setDefault(&l.MaxConnections, d.MaxConnections)
	setDefault(&l.MaxQueuesPerSite, d.MaxQueuesPerSite)
	return l
}

// TenantLimits returns the limits of tenant: its cloud.tenants entry's
// limits over cloud.limits (defaults applied by Load).
func (c *Cloud) TenantLimits(tenant string) Limits {
	for _, t := range c.Tenants {
		if t.Name == tenant {
			l := t.Limits.over(c.Limits)
			if t.Limits.MaxBaseSeries == 0 && t.Limits.MaxSeries != 0 {
				l.MaxBaseSeries = 2 * l.MaxSeries
			}
			return l
		}
	}
	return c.Limits
}

func (c *Cloud) applyLimitDefaults() {
	base := c.Limits.MaxBaseSeries
	c.Limits = c.Limits.over(DefaultLimits)
	if base == 0 {
		c.Limits.MaxBaseSeries = 2 * c.Limits.MaxSeries
	}
}

// validateLimits names each negative limit.
func (c *Cloud) validateLimits() []error {
	var errs []error
	check := func(at string, l Limits) {
		for _, f := range []struct {
			name string
			v    int64
		}{
			{"max_series", int64(l.MaxSeries)}, {"max_base_series", int64(l.MaxBaseSeries)},
			{"max_samples_per_second", int64(l.MaxSamplesPerSecond)}, {"max_bytes_per_second", int64(l.MaxBytesPerSecond)},
			{"max_labels_per_series", int64(l.MaxLabelsPerSeries)}, {"max_label_name_length", int64(l.MaxLabelNameLength)},
			{"max_label_value_length", int64(l.MaxLabelValueLength)}, {"max_metadata_length", int64(l.MaxMetadataLength)},
			{"max_metadata_families", int64(l.MaxMetadataFamilies)},
			{"max_connections", int64(l.MaxConnections)}, {"max_queues_per_site", int64(l.MaxQueuesPerSite)},
		} {
			if f.v < 0 {
				errs = append(errs, fmt.Errorf("%s.%s must be >= 0; got %d", at, f.name, f.v))
			}
		}
	}
	check("cloud.limits", c.Limits)
	for i, t := range c.Tenants {
		check(fmt.Sprintf("cloud.tenants[%d].limits", i), t.Limits)
	}
	return errs
}
