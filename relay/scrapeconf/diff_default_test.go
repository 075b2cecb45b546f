//go:build !full

package scrapeconf

import "github.com/edgerelay/edgerelay/relay/sd"

// unwrapFull returns c: the default build runs no discovery of
// Prometheus' code.
func unwrapFull(c sd.Config) any { return c }

// fullCases: the default build refuses the full build's discoveries by name.
var fullCases = []diffCase{
	{name: "kubernetes_sd", doc: "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod}]}]", refused: "scrape_configs[0].kubernetes_sd_configs needs edgerelay's full build"},
	{name: "consul_sd", doc: "scrape_configs: [{job_name: a}, {job_name: b, consul_sd_configs: [{server: 'x:1'}]}]", refused: "scrape_configs[1].consul_sd_configs needs edgerelay's full build: this build leaves its client out"},
}
