package scrapeconf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"

	"github.com/edgerelay/edgerelay/relay/sd"
)

// Discovery is a scrape config's target discoveries, each a list of
// Prometheus' syntax under Prometheus' key, in package sd's types.
type Discovery struct {
	// StaticConfigs are fixed target groups; each group's Source is its
	// index among them, as Prometheus numbers them.
	StaticConfigs []*targetgroup.Group `yaml:"static_configs,omitempty"`
	// FileSDConfigs, HTTPSDConfigs and DNSSDConfigs are file_sd_configs,
	// http_sd_configs and dns_sd_configs.
	FileSDConfigs []*sd.FileConfig `yaml:"file_sd_configs,omitempty"`
	HTTPSDConfigs []*sd.HTTPConfig `yaml:"http_sd_configs,omitempty"`
	DNSSDConfigs  []*sd.DNSConfig  `yaml:"dns_sd_configs,omitempty"`

	// fullDiscovery holds what only the full build implements
	// (sd_full.go); empty in the default build.
	fullDiscovery `yaml:",inline"`
}

// Configs returns every discovery of the job as package sd runs them:
// static_configs (one sd.StaticConfig, if any) last, as Prometheus orders
// them.
func (d *Discovery) Configs() []sd.Config {
	var cs []sd.Config
	for _, c := range d.FileSDConfigs {
		cs = append(cs, c)
	}
	for _, c := range d.HTTPSDConfigs {
		cs = append(cs, c)
	}
	for _, c := range d.DNSSDConfigs {
		cs = append(cs, c)
	}
	cs = append(cs, d.fullDiscovery.configs()...)
	if len(d.StaticConfigs) > 0 {
		cs = append(cs, sd.StaticConfig(d.StaticConfigs))
	}
	return cs
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
	if err := noNil("file_sd_configs", d.FileSDConfigs); err != nil {
		return err
	}
	if err := noNil("http_sd_configs", d.HTTPSDConfigs); err != nil {
		return err
	}
	if err := noNil("dns_sd_configs", d.DNSSDConfigs); err != nil {
		return err
	}
	return d.fullDiscovery.check()
}

// noNil refuses a null entry of the list cs, written under key.
func noNil[T any](key string, cs []*T) error {
	for _, c := range cs {
		if c == nil {
			return emptySection(key)
		}
	}
	return nil
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
	for _, c := range d.FileSDConfigs {
		c.SetDirectory(dir)
	}
	for _, c := range d.HTTPSDConfigs {
		c.SetDirectory(dir)
	}
	d.fullDiscovery.setDirectory(dir)
}
