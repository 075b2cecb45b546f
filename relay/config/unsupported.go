package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A key of Prometheus' own syntax that edgerelay parses but does not act
// on is refused by name, never accepted and ignored. Remove a key from these
// lists in the change that implements it. (scrape_configs' are package
// scrapeconf's: refuse.go.)
var (
	// unsupportedRemoteWrite are cloud.remote_write keys the forwarder
	// (package rwout) does not implement. protobuf_message is taken with
	// its default value only (validateRemoteWrite): edgerelay sends
	// remote_write 1.0.
	unsupportedRemoteWrite = []unsupportedKey{
		{path: "round_robin_dns", why: "the endpoint is dialled as Go's HTTP client resolves it"},
		{path: "failed_request_logging", why: "failed requests are logged and counted in edgerelay_remote_write_*"},
		{path: "azuread", why: whyOtherAuth},
		{path: "google_iam", why: whyOtherAuth},
		{path: "convert_nhcb_to_classic", why: "native histograms are forwarded as the edge carried them"},
	}
)

// whyOtherAuth is what to use instead of a cloud vendor's authentication
// edgerelay leaves out.
const whyOtherAuth = "use the HTTP client settings (authorization, basic_auth, oauth2, tls_config), or sigv4 in the full build"

// unsupportedKey is a dotted key path inside one list entry and why it is
// refused.
type unsupportedKey struct {
	path string
	why  string
	// fullOnly marks a key the full build implements and this one leaves out.
	fullOnly bool
}

// refuseUnsupported returns one error per entry of the sequence n (written
// under field, e.g. "cloud.remote_write") that sets one of keys.
func refuseUnsupported(field string, n *yaml.Node, keys []unsupportedKey) []error {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var errs []error
	for i, entry := range n.Content {
		for _, k := range keys {
			if !hasPath(entry, strings.Split(k.path, ".")) {
				continue
			}
			msg := fmt.Sprintf("%s[%d].%s is not supported by edgerelay", field, i, k.path)
			if k.fullOnly {
				msg = fmt.Sprintf("%s[%d].%s needs edgerelay's full build", field, i, k.path)
			}
			if k.why != "" {
				msg += ": " + k.why
			}
			errs = append(errs, fmt.Errorf("%s", msg))
		}
	}
	return errs
}

// hasPath reports whether the mapping n holds the nested key path.
func hasPath(n *yaml.Node, path []string) bool {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if len(path) == 0 {
		return true
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == path[0] {
			return hasPath(n.Content[j+1], path[1:])
		}
	}
	return false
}
