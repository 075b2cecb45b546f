package config

import (
	"strings"
	"testing"
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
	h := c.Edge.Scrape[0].HTTPSDConfigs
	if len(h) != 1 || h[0].URL != "http://127.0.0.1:8000/targets" || h[0].RefreshInterval.String() != "1m" {
		t.Fatalf("http_sd: %#v", h)
	}
	d := c.Edge.Scrape[1].DNSSDConfigs
	if len(d) != 1 || d[0].Type != "SRV" || d[0].Names[0] != "_node._tcp.plant.test" || d[0].RefreshInterval.String() != "1m" {
		t.Fatalf("dns_sd: %#v", d)
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

// TestScrapeRefusalsAndProblems: a refused scrape key is named by its path,
// and the section's other problems are said beside it, a line each.
func TestScrapeRefusalsAndProblems(t *testing.T) {
	_, err := Parse([]byte(sdEdge + `    - job_name: a
      ec2_sd_configs: [{region: x}]
    - job_name: a
`))
	want := []string{
		"edge.scrape_configs[0].ec2_sd_configs is not supported by edgerelay: edgerelay discovers targets with",
		`edge.scrape_configs: found multiple scrape configs with job name "a"`,
	}
	if err == nil || strings.Count(err.Error(), "\n") != len(want)-1 {
		t.Fatalf("want %d lines, got %v", len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}
