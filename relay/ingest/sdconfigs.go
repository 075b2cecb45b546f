package ingest

import (
	"fmt"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/file"
	promhttp "github.com/prometheus/prometheus/discovery/http"

	"github.com/edgerelay/edgerelay/relay/sd"
)

// sdConfigs returns the discovery configs of job c as package sd runs
// them: static_configs, file_sd_configs, http_sd_configs and
// dns_sd_configs as they are, and in the full build Prometheus' other
// discoveries through sd's adapter. While scrape configs come from
// Prometheus' config loader, the first three arrive as Prometheus' types
// and are copied into sd's, field for field.
func sdConfigs(c *promconfig.ScrapeConfig) ([]sd.Config, error) {
	var out []sd.Config
	for _, d := range c.ServiceDiscoveryConfigs {
		switch d := d.(type) {
		case discovery.StaticConfig:
			out = append(out, sd.StaticConfig(d))
		case *file.SDConfig:
			out = append(out, &sd.FileConfig{Files: d.Files, RefreshInterval: d.RefreshInterval})
		case *promhttp.SDConfig:
			out = append(out, &sd.HTTPConfig{URL: d.URL, RefreshInterval: d.RefreshInterval, HTTPClientConfig: d.HTTPClientConfig})
		case *sd.DNSConfig:
			out = append(out, d)
		default:
			pc, err := promDiscovery(d)
			if err != nil {
				return nil, fmt.Errorf("scrape job %q: %w", c.JobName, err)
			}
			out = append(out, pc)
		}
	}
	return out, nil
}
