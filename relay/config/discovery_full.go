//go:build full

package config

import (
	// The full build (go build -tags full) also offers Prometheus'
	// kubernetes_sd_configs and consul_sd_configs; their clients are most of
	// its extra size (docs/packaging.md).
	_ "github.com/prometheus/prometheus/discovery/consul"
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
)

// fullOnlyScrape is empty in the full build: it offers every discovery.
var fullOnlyScrape []unsupportedKey
