//go:build !full

package scrapeconf

import "github.com/edgerelay/edgerelay/relay/sd"

// fullDiscovery is empty in the default build: kubernetes_sd_configs and
// consul_sd_configs are refused by name (fullOnlyRefusals).
type fullDiscovery struct{}

func (*fullDiscovery) check() error         { return nil }
func (*fullDiscovery) setDirectory(string)  {}
func (*fullDiscovery) configs() []sd.Config { return nil }

// fullOnlyRefusals are the keys only the full build (go build -tags full)
// implements: the default build leaves their clients out to stay small.
var fullOnlyRefusals = []Refusal{
	{Key: "kubernetes_sd_configs", Why: fullBuildOnly, FullOnly: true},
	{Key: "consul_sd_configs", Why: fullBuildOnly, FullOnly: true},
}

const fullBuildOnly = "this build leaves its client out to stay small; build with -tags full (docs/packaging.md)"
