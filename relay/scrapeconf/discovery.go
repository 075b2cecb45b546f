package scrapeconf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// Discovery is a scrape config's target discoveries, each a list of
// Prometheus' syntax under Prometheus' key.
type Discovery struct {
	// StaticConfigs are fixed target groups; each group's Source is its
	// index among them, as Prometheus numbers them.
	StaticConfigs []*targetgroup.Group `yaml:"static_configs,omitempty"`

	// fullDiscovery holds what only the full build implements
	// (sd_full.go); empty in the default build.
	fullDiscovery `yaml:",inline"`
}

// check refuses an empty entry in any list, as Prometheus does, and numbers
// the static groups.
func (d *Discovery) check() error {
	for i, g := range d.StaticConfigs {
		if g == nil {
			return emptySection("static_configs")
		}
		g.Source = strconv.Itoa(i)
	}
	return d.fullDiscovery.check()
}

// emptySection is Prometheus' refusal of a null list entry under key.
func emptySection(key string) error {
	return fmt.Errorf("empty or null section in %s", key)
}

// checkStaticTargets refuses a static target written as a URL, which
// Prometheus refuses when no relabelling could rewrite it.
func (d *Discovery) checkStaticTargets() error {
	for _, g := range d.StaticConfigs {
		for _, t := range g.Targets {
			if addr := t[model.AddressLabel]; strings.Contains(string(addr), "/") {
				return fmt.Errorf("%q is not a valid hostname", addr)
			}
		}
	}
	return nil
}

// setDirectory resolves the discoveries' relative file names against dir.
func (d *Discovery) setDirectory(dir string) {
	d.fullDiscovery.setDirectory(dir)
}
