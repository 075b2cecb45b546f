//go:build !full

package scrapeconf

// fullDiscoveries is empty: the default build has no such discovery.
func fullDiscoveries(*Discovery) []interface{ Name() string } { return nil }

// fullCases: the default build refuses the full build's discoveries by name.
var fullCases = []diffCase{
	{name: "kubernetes_sd", doc: "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod}]}]", refused: "scrape_configs[0].kubernetes_sd_configs needs edgerelay's full build"},
	{name: "consul_sd", doc: "scrape_configs: [{job_name: a}, {job_name: b, consul_sd_configs: [{server: 'x:1'}]}]", refused: "scrape_configs[1].consul_sd_configs needs edgerelay's full build: this build leaves its client out"},
}
