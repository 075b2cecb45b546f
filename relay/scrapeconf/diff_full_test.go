//go:build full

package scrapeconf

// fullDiscoveries are d's discoveries that run on Prometheus' code.
func fullDiscoveries(d *Discovery) []interface{ Name() string } {
	var cs []interface{ Name() string }
	for _, c := range d.PrometheusConfigs() {
		cs = append(cs, c)
	}
	return cs
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
