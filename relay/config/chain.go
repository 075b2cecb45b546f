package config

import (
	"fmt"
	"net"
)

// Chain makes a cloud relay forward everything it receives to another
// cloud relay over QUIC (a region's cloud to a global one), with each
// block's tenant and site intact, through a durable queue of its own: the
// region acknowledges its edges once a block is in that queue. The
// receiving cloud must list this relay in its cloud.relays with the
// tenants it may speak for.
type Chain struct {
	// Upstream is how to reach the next cloud, as edge.upstream: address,
	// server_name, ca_file, cert_file/key_file, token_file (the relay's
	// credential), insecure_skip_verify, window, min_backoff, max_backoff.
	Upstream `yaml:",inline"`
	// Name is this relay's name in the next cloud's cloud.relays. Required.
	Name string `yaml:"name"`
	// MaxBytes caps the chain's queue on disk (in data_dir/chain); past it
	// the oldest blocks are dropped and counted. Default 1GiB.
	MaxBytes Bytes `yaml:"max_bytes"`
}

// Relay is a cloud relay this cloud accepts blocks from on behalf of
// other tenants' edges (cloud.relays): it proves itself with the token in
// TokenFile and may speak only for Tenants.
type Relay struct {
	Name      string `yaml:"name"`
	TokenFile string `yaml:"token_file"`
	// Tenants are the tenants whose blocks this relay may pass on; a block
	// of any other is refused (counted, and held at the relay). Required:
	// there is no wildcard.
	Tenants []string `yaml:"tenants"`
}

// RelayHelloTenant is the tenant a chaining relay names in its HELLO; its
// site field carries the relay's name. No tenant can have this name
// (ValidName refuses ':'), so a relay is never taken for an edge.
const RelayHelloTenant = ":relay"

func (cl *Cloud) applyChainDefaults() {
	ch := cl.Chain
	if ch == nil {
		return
	}
	d := DefaultEdge.Upstream
	setDefault(&ch.Window, d.Window)
	setDefault(&ch.MinBackoff, d.MinBackoff)
	setDefault(&ch.MaxBackoff, d.MaxBackoff)
	setDefault(&ch.MaxBytes, DefaultEdge.Queue.MaxBytes)
	if ch.ServerName == "" {
		if host, _, err := net.SplitHostPort(ch.Address); err == nil {
			ch.ServerName = host
		}
	}
}

// validateChain returns the problems of cloud.chain and cloud.relays.
func (cl *Cloud) validateChain() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if ch := cl.Chain; ch != nil {
		if ch.Address == "" {
			bad("cloud.chain.address is required")
		} else if _, _, err := net.SplitHostPort(ch.Address); err != nil {
			bad("cloud.chain.address must be host:port; got %q", ch.Address)
		}
		if !ValidName(ch.Name) {
			bad("cloud.chain.name must be letters, digits, '-', '_' or '.'; got %q", ch.Name)
		}
		if (ch.CertFile == "") != (ch.KeyFile == "") {
			bad("cloud.chain.cert_file and cloud.chain.key_file go together")
		}
		if ch.Window < 1 {
			bad("cloud.chain.window must be >= 1; got %d", ch.Window)
		}
		if ch.MaxBackoff < ch.MinBackoff {
			bad("cloud.chain.max_backoff (%s) must not be below cloud.chain.min_backoff (%s)", ch.MaxBackoff, ch.MinBackoff)
		}
	}
	seen := map[string]bool{}
	for i, r := range cl.Relays {
		if !ValidName(r.Name) {
			bad("cloud.relays[%d].name must be letters, digits, '-', '_' or '.'; got %q", i, r.Name)
		}
		if seen[r.Name] {
			bad("cloud.relays[%d].name %q appears twice", i, r.Name)
		}
		seen[r.Name] = true
		if r.TokenFile == "" {
			bad("cloud.relays[%d].token_file is required: a relay proves itself with its token", i)
		}
		if len(r.Tenants) == 0 {
			bad("cloud.relays[%d].tenants is required: the tenants this relay may speak for", i)
		}
		for j, t := range r.Tenants {
			if !ValidName(t) {
				bad("cloud.relays[%d].tenants[%d] must be a tenant name; got %q", i, j, t)
			}
		}
	}
	return errs
}
