package sd

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/prometheus/prometheus/discovery"
)

// While scrape configs are still read by Prometheus' config loader, it
// must know dns_sd_configs: DNSConfig registers with its discovery
// registry, and runs there as the Provider it builds (Run has the
// Discoverer's signature). This file goes once the edge reads scrape
// configs itself.

func init() { discovery.RegisterConfig(&DNSConfig{}) }

// NewDiscovererMetrics implements discovery.Config: the provider counts in
// its own metrics.
func (*DNSConfig) NewDiscovererMetrics(prometheus.Registerer, discovery.RefreshMetricsInstantiator) discovery.DiscovererMetrics {
	return noDiscovererMetrics{}
}

// NewDiscoverer implements discovery.Config.
func (c *DNSConfig) NewDiscoverer(opts discovery.DiscovererOptions) (discovery.Discoverer, error) {
	return c.NewProvider(ProviderOptions{Logger: opts.Logger, Job: opts.SetName})
}

type noDiscovererMetrics struct{}

func (noDiscovererMetrics) Register() error { return nil }
func (noDiscovererMetrics) Unregister()     {}
