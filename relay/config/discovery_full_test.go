//go:build full

package config

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/discovery/consul"
	"github.com/prometheus/prometheus/discovery/kubernetes"
)

// TestFullDiscovery: the full build loads kubernetes_sd_configs and
// consul_sd_configs with Prometheus' own types, and refuses their bad
// settings with Prometheus' messages.
func TestFullDiscovery(t *testing.T) {
	c, err := Parse([]byte(sdEdge + `    - job_name: k
      kubernetes_sd_configs: [{role: pod, namespaces: {names: [plant]}}]
    - job_name: c
      consul_sd_configs: [{server: "127.0.0.1:8500", services: [node]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	k, ok := c.Edge.Scrape[0].ServiceDiscoveryConfigs[0].(*kubernetes.SDConfig)
	if !ok || k.Role != kubernetes.RolePod || k.NamespaceDiscovery.Names[0] != "plant" {
		t.Fatalf("kubernetes_sd: %#v", c.Edge.Scrape[0].ServiceDiscoveryConfigs[0])
	}
	cs, ok := c.Edge.Scrape[1].ServiceDiscoveryConfigs[0].(*consul.SDConfig)
	if !ok || cs.Server != "127.0.0.1:8500" || cs.Services[0] != "node" {
		t.Fatalf("consul_sd: %#v", c.Edge.Scrape[1].ServiceDiscoveryConfigs[0])
	}
	for cfg, want := range map[string]string{
		`kubernetes_sd_configs: [{role: planet}]`: "unknown Kubernetes SD role",
		`consul_sd_configs: [{server: ""}]`:       "consul SD configuration requires a server address",
	} {
		_, err := Parse([]byte(sdEdge + "    - job_name: x\n      " + cfg + "\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", cfg, err, want)
		}
	}
}
