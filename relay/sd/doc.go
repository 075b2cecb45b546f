// Package sd is edgerelay's scrape target discovery, in Prometheus'
// syntax and with Prometheus' semantics but without linking Prometheus'
// discovery packages: the configs of static_configs (StaticConfig),
// file_sd_configs (FileConfig), http_sd_configs (HTTPConfig) and
// dns_sd_configs (DNSConfig, which asks Go's resolver), each with
// Prometheus' YAML defaults, refusals and meta labels, so that a scrape
// config moves between Prometheus and edgerelay as it is. Each Config
// builds a Provider; a Manager runs the providers of every job and
// delivers their target groups as Prometheus' discovery manager does. The
// full build (-tags full) adds an adapter running Prometheus' own
// discovery configs (kubernetes, consul) as Providers. Manager and
// Metrics are safe for concurrent use; a Provider runs once.
package sd
