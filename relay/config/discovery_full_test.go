//go:build full

package config

import (
	"strings"
	"testing"

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
	k := c.Edge.Scrape[0].KubernetesSDConfigs
	if len(k) != 1 || k[0].Role != kubernetes.RolePod || k[0].NamespaceDiscovery.Names[0] != "plant" {
		t.Fatalf("kubernetes_sd: %#v", k)
	}
	cs := c.Edge.Scrape[1].ConsulSDConfigs
	if len(cs) != 1 || cs[0].Server != "127.0.0.1:8500" || cs[0].Services[0] != "node" {
		t.Fatalf("consul_sd: %#v", cs)
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
