package scrapeconf

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v2"
)

// Refusal is a key of Prometheus' syntax that edgerelay does not
// implement: it is refused by name, never accepted and ignored. Remove a
// key from these lists in the change that implements it.
type Refusal struct {
	Key string
	Why string
	// FullOnly marks a key the full build implements and this one leaves
	// out.
	FullOnly bool
}

// RefusedError is a refused key where it was written, e.g.
// scrape_configs[0].kubernetes_sd_configs.
type RefusedError struct {
	Path string
	Refusal
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("%s is not supported by edgerelay", e.Path)
	if e.FullOnly {
		msg = fmt.Sprintf("%s needs edgerelay's full build", e.Path)
	}
	if e.Why != "" {
		msg += ": " + e.Why
	}
	return msg
}

// RefusedErrors are every refused key of a document, in order.
type RefusedErrors []*RefusedError

func (es RefusedErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.Is and errors.As each refusal.
func (es RefusedErrors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

const (
	whyFailureLog = "scrape failures are logged by edgerelay and counted in edgerelay_prometheus_target_scrapes_*"
	whyDiscovery  = "edgerelay discovers targets with static_configs, file_sd_configs, http_sd_configs and dns_sd_configs (its full build also kubernetes_sd_configs and consul_sd_configs)"
	whyGlobal     = "edgerelay takes only the scrape settings of global"
)

// unimplementedSD are Prometheus' discoveries no build of edgerelay has.
var unimplementedSD = []string{
	"aws", "azure", "digitalocean", "docker", "dockerswarm", "ec2", "ecs", "elasticache", "eureka", "gce",
	"hetzner", "ionos", "kuma", "lightsail", "linode", "marathon", "msk", "nerve", "nomad", "oci",
	"openstack", "outscale", "ovhcloud", "puppetdb", "rds", "scaleway", "serverset", "stackit", "triton",
	"uyuni", "vultr",
}

// refusedScrapeKeys are the scrape_configs keys this build refuses.
func refusedScrapeKeys() []Refusal {
	rs := []Refusal{{Key: "scrape_failure_log_file", Why: whyFailureLog}}
	for _, name := range unimplementedSD {
		rs = append(rs, Refusal{Key: name + "_sd_configs", Why: whyDiscovery})
	}
	return append(rs, fullOnlyRefusals...)
}

// refusedGlobalKeys are the global keys edgerelay refuses.
var refusedGlobalKeys = []Refusal{
	{Key: "scrape_failure_log_file", Why: whyFailureLog},
	{Key: "external_labels", Why: "use edge.external_labels"},
	{Key: "evaluation_interval", Why: whyGlobal},
	{Key: "rule_query_offset", Why: whyGlobal},
	{Key: "query_log_file", Why: whyGlobal},
	{Key: "query_max_duration", Why: whyGlobal},
	{Key: "query_max_series", Why: whyGlobal},
	{Key: "query_max_samples_read", Why: whyGlobal},
}

// RefusedScrapeKeys returns the scrape_configs keys this build refuses.
func RefusedScrapeKeys() []Refusal { return refusedScrapeKeys() }

// refuseKeys returns the refusals of the mapping unmarshal reads, nil if
// it is none (or not a mapping: the caller's own read says why).
func refuseKeys(unmarshal func(any) error, refused []Refusal) error {
	var m yaml.MapSlice
	if err := unmarshal(&m); err != nil {
		return nil
	}
	if es := refusals("", m, refused); len(es) > 0 {
		return es
	}
	return nil
}

// refusals returns a RefusedError for each key of m in refused, its path
// prefix followed by the key.
func refusals(prefix string, m yaml.MapSlice, refused []Refusal) RefusedErrors {
	var es RefusedErrors
	for _, item := range m {
		k, _ := item.Key.(string)
		for _, r := range refused {
			if k == r.Key {
				es = append(es, &RefusedError{Path: prefix + k, Refusal: r})
			}
		}
	}
	return es
}

// scanRefusals returns every refused key of a scrape configuration
// document, by path, and the document without them, to be read for its
// other problems; s itself when it refuses nothing.
func scanRefusals(s string) (RefusedErrors, string) {
	var doc yaml.MapSlice
	if yaml.Unmarshal([]byte(s), &doc) != nil {
		return nil, s // the strict read says why
	}
	var es RefusedErrors
	keys := refusedScrapeKeys()
	for i, item := range doc {
		switch item.Key {
		case "global":
			if m, ok := item.Value.(yaml.MapSlice); ok {
				es = append(es, refusals("global.", m, refusedGlobalKeys)...)
				doc[i].Value = without(m, refusedGlobalKeys)
			}
		case "scrape_configs":
			list, _ := item.Value.([]any)
			for j, sc := range list {
				if m, ok := sc.(yaml.MapSlice); ok {
					es = append(es, refusals(fmt.Sprintf("scrape_configs[%d].", j), m, keys)...)
					list[j] = without(m, keys)
				}
			}
		}
	}
	if len(es) == 0 {
		return nil, s
	}
	rest, err := yaml.Marshal(doc)
	if err != nil {
		return es, s
	}
	return es, string(rest)
}

// without returns m less the keys in refused.
func without(m yaml.MapSlice, refused []Refusal) yaml.MapSlice {
	var out yaml.MapSlice
	for _, item := range m {
		k, _ := item.Key.(string)
		if !slices.ContainsFunc(refused, func(r Refusal) bool { return r.Key == k }) {
			out = append(out, item)
		}
	}
	return out
}
