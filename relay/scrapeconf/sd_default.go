//go:build !full

package scrapeconf

// fullDiscovery is empty in the default build: kubernetes_sd_configs and
// consul_sd_configs are refused by name (fullOnlyRefusals).
type fullDiscovery struct{}

func (*fullDiscovery) check() error        { return nil }
func (*fullDiscovery) setDirectory(string) {}
func (*fullDiscovery) empty() bool         { return true }

// fullOnlyRefusals are the keys only the full build (go build -tags full)
// implements: the default build leaves their clients out to stay small.
var fullOnlyRefusals = []Refusal{
	{Key: "kubernetes_sd_configs", Why: fullBuildOnly, FullOnly: true},
	{Key: "consul_sd_configs", Why: fullBuildOnly, FullOnly: true},
}

const fullBuildOnly = "this build leaves its client out to stay small; build with -tags full (docs/packaging.md)"
