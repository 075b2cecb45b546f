//go:build full

package ingest

import (
	"github.com/prometheus/prometheus/discovery"

	"github.com/edgerelay/edgerelay/relay/sd"
)

// promDiscovery runs Prometheus' discovery d (kubernetes, consul) through
// sd's adapter.
func promDiscovery(d discovery.Config) (sd.Config, error) { return sd.Discovery{Config: d}, nil }
