package config

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/discovery/http"

	"github.com/edgerelay/edgerelay/relay/sd"
)

const sdEdge = "edge:\n  tenant: a\n  site: b\n  upstream: {address: \"127.0.0.1:1\"}\n  scrape_configs:\n"

// TestDiscoveryEveryBuild: http_sd_configs and dns_sd_configs load in every
// build with Prometheus' defaults, and their bad settings are refused.
func TestDiscoveryEveryBuild(t *testing.T) {
	c, err := Parse([]byte(sdEdge + `    - job_name: h
      http_sd_configs: [{url: "http://127.0.0.1:8000/targets"}]
    - job_name: d
      dns_sd_configs: [{names: [_node._tcp.plant.test], refresh_interval: 1m}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Edge.Scrape) != 2 {
		t.Fatalf("%d scrape configs", len(c.Edge.Scrape))
	}
	h, ok := c.Edge.Scrape[0].ServiceDiscoveryConfigs[0].(*http.SDConfig)
	if !ok || h.URL != "http://127.0.0.1:8000/targets" || h.RefreshInterval.String() != "1m" {
		t.Fatalf("http_sd: %#v", c.Edge.Scrape[0].ServiceDiscoveryConfigs[0])
	}
	d, ok := c.Edge.Scrape[1].ServiceDiscoveryConfigs[0].(*sd.DNSConfig)
	if !ok || d.Type != "SRV" || d.Names[0] != "_node._tcp.plant.test" || d.RefreshInterval.String() != "1m" {
		t.Fatalf("dns_sd: %#v", c.Edge.Scrape[1].ServiceDiscoveryConfigs[0])
	}
	for cfg, want := range map[string]string{
		`http_sd_configs: [{url: "ftp://x/y"}]`:        "URL scheme must be 'http' or 'https'",
		`dns_sd_configs: [{names: [a.test], type: A}]`: "a port is required",
	} {
		_, err := Parse([]byte(sdEdge + "    - job_name: x\n      " + cfg + "\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", cfg, err, want)
		}
	}
}
