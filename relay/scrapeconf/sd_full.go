//go:build full

package scrapeconf

import (
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/consul"
	"github.com/prometheus/prometheus/discovery/kubernetes"

	"github.com/edgerelay/edgerelay/relay/sd"
)

// fullDiscovery is the full build's kubernetes_sd_configs and
// consul_sd_configs, Prometheus' own types (their clients are most of the
// full build's extra size).
type fullDiscovery struct {
	KubernetesSDConfigs []*kubernetes.SDConfig `yaml:"kubernetes_sd_configs,omitempty"`
	ConsulSDConfigs     []*consul.SDConfig     `yaml:"consul_sd_configs,omitempty"`
}

func (d *fullDiscovery) check() error {
	if err := noNil("kubernetes_sd_configs", d.KubernetesSDConfigs); err != nil {
		return err
	}
	return noNil("consul_sd_configs", d.ConsulSDConfigs)
}

func (d *fullDiscovery) setDirectory(dir string) {
	cs := d.PrometheusConfigs()
	cs.SetDirectory(dir)
}

// PrometheusConfigs returns the job's discoveries that run on Prometheus'
// discovery code: kubernetes_sd_configs, then consul_sd_configs.
func (d *fullDiscovery) PrometheusConfigs() discovery.Configs {
	var cs discovery.Configs
	for _, c := range d.KubernetesSDConfigs {
		cs = append(cs, c)
	}
	for _, c := range d.ConsulSDConfigs {
		cs = append(cs, c)
	}
	return cs
}

// configs are PrometheusConfigs as package sd runs them.
func (d *fullDiscovery) configs() []sd.Config {
	var cs []sd.Config
	for _, c := range d.PrometheusConfigs() {
		cs = append(cs, sd.Discovery{Config: c})
	}
	return cs
}

// fullOnlyRefusals is empty in the full build: it implements every
// discovery the default build refuses as full-only.
var fullOnlyRefusals []Refusal
