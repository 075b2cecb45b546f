//go:build !full

package config

// fullOnlyScrape are scrape_configs keys only the full build (go build
// -tags full; make dist's edgerelay-full-linux-amd64) implements: the
// default build leaves their clients out to stay small, and refuses them by
// name.
var fullOnlyScrape = []unsupportedKey{
	{path: "kubernetes_sd_configs", why: fullBuildOnly, fullOnly: true},
	{path: "consul_sd_configs", why: fullBuildOnly, fullOnly: true},
}

const fullBuildOnly = "this build leaves its client out to stay small; build with -tags full (docs/packaging.md)"
