package config

import (
	"strings"
	"testing"
)

// TestLimits: cloud.limits takes defaults, a tenant's limits override it
// field by field, and a negative limit is refused by name.
func TestLimits(t *testing.T) {
	c, err := Parse([]byte(`
cloud:
  limits:
    max_series: 1000
    max_bytes_per_second: 1MiB
  tenants:
    - name: acme
      token_file: /dev/null
      limits:
        max_series: 10
        max_label_value_length: 64
        max_connections: 50
        max_queues_per_site: 4
    - name: bolt
      token_file: /dev/null
`))
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Cloud
	def := cl.TenantLimits("other")
	if def.MaxSeries != 1000 || def.MaxBaseSeries != 2000 || def.MaxBytesPerSecond != 1<<20 || def.MaxSamplesPerSecond != DefaultLimits.MaxSamplesPerSecond || def.MaxLabelsPerSeries != 30 {
		t.Errorf("cloud.limits with defaults = %+v", def)
	}
	if bolt := cl.TenantLimits("bolt"); bolt != def {
		t.Errorf("a tenant without limits = %+v, want cloud.limits %+v", bolt, def)
	}
	acme := cl.TenantLimits("acme")
	if def.MaxConnections != 10000 || def.MaxQueuesPerSite != 16 {
		t.Errorf("cloud.limits' max_connections %d, max_queues_per_site %d; want the defaults 10000 and 16", def.MaxConnections, def.MaxQueuesPerSite)
	}
	if acme.MaxSeries != 10 || acme.MaxBaseSeries != 20 || acme.MaxLabelValueLength != 64 || acme.MaxBytesPerSecond != 1<<20 ||
		acme.MaxConnections != 50 || acme.MaxQueuesPerSite != 4 {
		t.Errorf("acme's limits = %+v", acme)
	}
	_, err = Parse([]byte("cloud:\n  limits:\n    max_series: -1\n    max_queues_per_site: -3\n  tenants:\n    - name: a\n      token_file: x\n      limits:\n        max_labels_per_series: -2\n        max_connections: -4\n"))
	for _, want := range []string{"cloud.limits.max_series must be >= 0; got -1", "cloud.tenants[0].limits.max_labels_per_series must be >= 0; got -2",
		"cloud.limits.max_queues_per_site must be >= 0; got -3", "cloud.tenants[0].limits.max_connections must be >= 0; got -4"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
