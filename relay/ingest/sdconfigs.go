package ingest

import (
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/sd"
)

// sdConfigs returns the discovery configs of job c as package sd runs
// them (scrapeconf.Discovery.Configs): static_configs, file_sd_configs,
// http_sd_configs and dns_sd_configs, and in the full build
// kubernetes_sd_configs and consul_sd_configs through sd's adapter.
func sdConfigs(c *scrapeconf.ScrapeConfig) ([]sd.Config, error) {
	return c.Configs(), nil
}
