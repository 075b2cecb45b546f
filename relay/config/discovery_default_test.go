//go:build !full

package config

import (
	"strings"
	"testing"
)

// TestFullOnlyDiscoveryRefused: the default build refuses
// kubernetes_sd_configs and consul_sd_configs by name, saying which build
// has them, rather than failing in Prometheus' parser or ignoring them.
func TestFullOnlyDiscoveryRefused(t *testing.T) {
	_, err := Parse([]byte(sdEdge + `    - job_name: k
      kubernetes_sd_configs: [{role: pod}]
    - job_name: c
      consul_sd_configs: [{server: "127.0.0.1:8500"}]
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"edge.scrape_configs[0].kubernetes_sd_configs needs edgerelay's full build",
		"edge.scrape_configs[1].consul_sd_configs needs edgerelay's full build",
		"-tags full",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "not found in type") {
		t.Errorf("Prometheus' parser error repeats the refusal: %v", err)
	}
}
