package config

import (
	// Registers http_sd_configs (Prometheus' own) and dns_sd_configs
	// (edgerelay's, package sd, Prometheus' syntax and labels), which every
	// build offers besides static_configs and file_sd_configs.
	_ "github.com/prometheus/prometheus/discovery/http"

	_ "github.com/edgerelay/edgerelay/relay/sd"
)
