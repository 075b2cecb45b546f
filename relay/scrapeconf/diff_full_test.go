//go:build full

package scrapeconf

import "github.com/edgerelay/edgerelay/relay/sd"

// unwrapFull returns the Prometheus config package sd's adapter runs, or
// c.
func unwrapFull(c sd.Config) any {
	if d, ok := c.(sd.Discovery); ok {
		return d.Config
	}
	return c
}

// fullCases: the full build reads kubernetes_sd_configs and
// consul_sd_configs as Prometheus does.
var fullCases = []diffCase{
	{name: "kubernetes_sd", doc: "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, namespaces: {names: [x]}}, {role: node, api_server: 'https://k:6443'}]}]"},
	{name: "consul_sd", doc: "scrape_configs: [{job_name: a, consul_sd_configs: [{server: 'x:1', services: [a]}]}]"},
	{name: "kubernetes_sd bad role", bad: true, doc: "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: planet}]}]"},
	{name: "kubernetes_sd null", bad: true, doc: "scrape_configs: [{job_name: a, kubernetes_sd_configs: [null]}]"},
	{name: "consul_sd no server", bad: true, doc: "scrape_configs: [{job_name: a, consul_sd_configs: [{server: ''}]}]"},
}
