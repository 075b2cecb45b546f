//go:build !full

package ingest

import (
	"fmt"

	"github.com/prometheus/prometheus/discovery"

	"github.com/edgerelay/edgerelay/relay/sd"
)

// promDiscovery: the default build runs no discovery of Prometheus' own.
func promDiscovery(d discovery.Config) (sd.Config, error) {
	return nil, fmt.Errorf("%s_sd_configs is not supported by this build of edgerelay (the full build has it)", d.Name())
}
