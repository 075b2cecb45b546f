//go:build full

package sd

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prometheus/prometheus/discovery"
)

// Discovery runs one of Prometheus' own discovery configs (in the full
// build: kubernetes_sd_configs, consul_sd_configs) as a Config: its
// Discoverer is the Provider (they have the same Run), counting in
// Prometheus' metrics for that mechanism, registered where Metrics are
// on first use, and in the refresh metrics Metrics already has.
type Discovery struct{ discovery.Config }

// Name implements Config.
func (d Discovery) Name() string { return d.Config.Name() }

// NewProvider implements Config.
func (d Discovery) NewProvider(opts ProviderOptions) (Provider, error) {
	dm, err := opts.Metrics.or().mechanism(d.Config)
	if err != nil {
		return nil, err
	}
	return d.Config.NewDiscoverer(discovery.DiscovererOptions{Logger: opts.logger(), Metrics: dm, SetName: opts.Job})
}

// extraMetrics are the metrics of Prometheus' discoveries, by mechanism.
type extraMetrics struct {
	mu   sync.Mutex
	mech map[string]discovery.DiscovererMetrics
}

// mechanism returns the metrics of c's mechanism, registering them the
// first time.
func (m *Metrics) mechanism(c discovery.Config) (discovery.DiscovererMetrics, error) {
	m.extra.mu.Lock()
	defer m.extra.mu.Unlock()
	if dm, ok := m.extra.mech[c.Name()]; ok {
		return dm, nil
	}
	reg := m.reg
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	dm := c.NewDiscovererMetrics(reg, refreshInstantiator{m})
	if err := dm.Register(); err != nil {
		return nil, fmt.Errorf("register %s discovery metrics: %w", c.Name(), err)
	}
	if m.extra.mech == nil {
		m.extra.mech = map[string]discovery.DiscovererMetrics{}
	}
	m.extra.mech[c.Name()] = dm
	return dm, nil
}

// refreshInstantiator hands Prometheus' refresh-based discoveries the
// refresh metrics the edge's own discoveries count in.
type refreshInstantiator struct{ m *Metrics }

func (r refreshInstantiator) Instantiate(mech, job string) *discovery.RefreshMetrics {
	return &discovery.RefreshMetrics{
		Failures:          r.m.refreshFailures.WithLabelValues(mech, job),
		Duration:          r.m.refreshDuration.WithLabelValues(mech, job),
		DurationHistogram: r.m.refreshHist.WithLabelValues(mech),
	}
}
