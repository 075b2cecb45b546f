package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultEdge holds the value every unset edge field takes.
var DefaultEdge = Edge{
	DataDir:     "./data/edge",
	HTTPListen:  "127.0.0.1:9201",
	RemoteWrite: RemoteWriteReceiver{MaxBodyBytes: 32 << 20},
	Queue: Queue{
		MaxBytes:       1 << 30,
		MaxBlockBytes:  4 << 20,
		MinFreeBytes:   64 << 20,
		CommitInterval: 5 * time.Millisecond,
		ReplayShare:    0.5,
	},
	Upstream: Upstream{Window: 16, MinBackoff: 250 * time.Millisecond, MaxBackoff: 30 * time.Second},
}

// DefaultCloud holds the value every unset cloud field takes.
var DefaultCloud = Cloud{
	QUICListen:     "127.0.0.1:4433",
	HTTPListen:     "127.0.0.1:9400",
	DataDir:        "./data/cloud",
	FilesDir:       "./data/files",
	FilesRetention: 24 * time.Hour,
	Federate:       Federate{MaxAge: 5 * time.Minute},
	MaxBlockBytes:  4 << 20,
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (c *Config) applyDefaults() {
	if e := c.Edge; e != nil {
		d := DefaultEdge
		e.applyUpstreamDefaults()
		setDefault(&e.DataDir, d.DataDir)
		setDefault(&e.HTTPListen, d.HTTPListen)
		setDefault(&e.RemoteWrite.MaxBodyBytes, d.RemoteWrite.MaxBodyBytes)
		setDefault(&e.Queue.MaxBytes, d.Queue.MaxBytes)
		setDefault(&e.Queue.MaxBlockBytes, d.Queue.MaxBlockBytes)
		setDefault(&e.Queue.MinFreeBytes, d.Queue.MinFreeBytes)
		setDefault(&e.Queue.CommitInterval, d.Queue.CommitInterval)
		setDefault(&e.Queue.ReplayShare, d.Queue.ReplayShare)
		setDefault(&e.Upstream.Window, d.Upstream.Window)
		setDefault(&e.Upstream.MinBackoff, d.Upstream.MinBackoff)
		setDefault(&e.Upstream.MaxBackoff, d.Upstream.MaxBackoff)
		if e.Upstream.ServerName == "" {
			if host, _, err := net.SplitHostPort(e.Upstream.Address); err == nil {
				e.Upstream.ServerName = host
			}
		}
		e.applyShardDefaults()
		for i := range e.Plugins {
			p := &e.Plugins[i]
			setDefault(&p.Name, p.Module)
			setDefault(&p.OnError, "fail_open")
			if !NativeModules[p.Module] {
				setDefault(&p.Limits.MemoryPages, 256)
			}
			if !strings.HasPrefix(p.Module, "builtin:") { // built-ins run without a deadline
				setDefault(&p.Limits.Timeout, 100*time.Millisecond)
			}
		}
	}
	if cl := c.Cloud; cl != nil {
		d := DefaultCloud
		setDefault(&cl.QUICListen, d.QUICListen)
		setDefault(&cl.HTTPListen, d.HTTPListen)
		setDefault(&cl.DataDir, d.DataDir)
		setDefault(&cl.FilesDir, d.FilesDir)
		setDefault(&cl.FilesRetention, d.FilesRetention)
		setDefault(&cl.Federate.MaxAge, d.Federate.MaxAge)
		setDefault(&cl.MaxBlockBytes, d.MaxBlockBytes)
		cl.applyLimitDefaults()
		cl.applyHookDefaults()
		cl.applyChainDefaults()
		cl.applyClusterDefaults()
	}
}

// Validate returns one joined error with a line per problem, each naming
// the field and the bad value.
func (c *Config) Validate() error {
	var errs []error
	if e := c.Edge; e != nil {
		errs = append(errs, e.validate()...)
	}
	if cl := c.Cloud; cl != nil {
		errs = append(errs, cl.validate()...)
	}
	errs = append(errs, c.validateWeb()...)
	return errors.Join(errs...)
}

// validate returns the problems of the edge section, each naming its field.
func (e *Edge) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if e.Tenant == "" {
		bad("edge.tenant is required")
	} else if !ValidName(e.Tenant) {
		bad("edge.tenant must be letters, digits, '-', '_' or '.'; got %q", e.Tenant)
	}
	if e.Site == "" {
		bad("edge.site is required")
	} else if !ValidName(e.Site) {
		bad("edge.site must be letters, digits, '-', '_' or '.'; got %q", e.Site)
	}
	errs = append(errs, e.validateUpstreams()...)
	if _, _, err := net.SplitHostPort(e.HTTPListen); err != nil {
		bad("edge.http_listen must be host:port; got %q", e.HTTPListen)
	}
	if !(e.Queue.ReplayShare > 0 && e.Queue.ReplayShare <= 1) {
		bad("edge.queue.replay_share must be in (0, 1]; got %v", e.Queue.ReplayShare)
	}
	if e.Queue.MaxSendRate < 0 {
		bad("edge.queue.max_send_rate must be >= 0; got %d", e.Queue.MaxSendRate)
	}
	if e.Queue.MaxBlockBytes > e.Queue.MaxBytes {
		bad("edge.queue.max_block_bytes (%d) must not exceed edge.queue.max_bytes (%d)", e.Queue.MaxBlockBytes, e.Queue.MaxBytes)
	}
	errs = append(errs, validatePlugins(e.Plugins)...)
	errs = append(errs, e.validateShard()...)
	for name := range e.ExternalLabels {
		if name == "site" || name == "tenant" {
			bad("edge.external_labels must not set %q: edgerelay sets it", name)
		}
	}
	return errs
}

// validatePlugins returns the problems of edge.plugins.
func validatePlugins(plugins []PluginConfig) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	names := map[string]bool{}
	for i, p := range plugins {
		if p.Module == "" {
			bad("edge.plugins[%d].module is required", i)
		}
		if names[p.Name] {
			bad("edge.plugins[%d].name %q is used twice", i, p.Name)
		}
		names[p.Name] = true
		if p.OnError != "fail_open" && p.OnError != "fail_closed" {
			bad("edge.plugins[%d].on_error must be fail_open or fail_closed; got %q", i, p.OnError)
		}
		if p.Clock != "" && p.Clock != "fake" && p.Clock != "real" {
			bad("edge.plugins[%d].clock must be fake or real; got %q", i, p.Clock)
		}
		if NativeModules[p.Module] && p.Limits.MemoryPages != 0 {
			bad("edge.plugins[%d].limits.memory_pages does not apply to %s: it runs as Go inside the edge, not in a WebAssembly memory", i, p.Module)
		}
		if NativeModules[p.Module] && p.Clock != "" {
			bad("edge.plugins[%d].clock does not apply to %s: it runs as Go inside the edge and reads only sample timestamps", i, p.Module)
		}
		if p.Limits.MemoryPages > MaxMemoryPages {
			bad("edge.plugins[%d].limits.memory_pages must be at most %d (4 GiB); got %d", i, MaxMemoryPages, p.Limits.MemoryPages)
		}
		if p.Limits.Timeout < 0 {
			bad("edge.plugins[%d].limits.timeout must be >= 0; got %s", i, p.Limits.Timeout)
		} else if p.Limits.Timeout != 0 && strings.HasPrefix(p.Module, "builtin:") {
			bad("edge.plugins[%d].limits.timeout does not apply to %s: built-in modules run without a deadline", i, p.Module)
		}
	}
	return errs
}

// validate returns the problems of the cloud section, each naming its field.
func (cl *Cloud) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(cl.QUICListen); err != nil {
		bad("cloud.quic_listen must be host:port; got %q", cl.QUICListen)
	}
	if _, _, err := net.SplitHostPort(cl.HTTPListen); err != nil {
		bad("cloud.http_listen must be host:port; got %q", cl.HTTPListen)
	}
	if (cl.CertFile == "") != (cl.KeyFile == "") {
		bad("cloud.cert_file and cloud.key_file go together")
	}
	errs = append(errs, cl.validateOpen()...)
	errs = append(errs, cl.validateLimits()...)
	if cl.Federate.MaxAge < 0 {
		bad("cloud.federate.max_age must be >= 0; got %s", cl.Federate.MaxAge)
	}
	switch cl.ClientIdentity {
	case "", "auto", "spiffe", "subject":
	default:
		bad("cloud.client_identity must be auto, spiffe or subject; got %q", cl.ClientIdentity)
	}
	if cl.ClientIdentity != "" && cl.ClientCAFile == "" {
		bad("cloud.client_identity needs cloud.client_ca_file: without it edges present no certificate")
	}
	errs = append(errs, cl.validateTenants()...)
	errs = append(errs, cl.validateHooks()...)
	errs = append(errs, cl.validateChain()...)
	errs = append(errs, cl.validateCluster()...)
	return errs
}

// validateTenants returns the problems of cloud.tenants.
func (cl *Cloud) validateTenants() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seenTenant := map[string]bool{}
	for i, t := range cl.Tenants {
		if !ValidName(t.Name) {
			bad("cloud.tenants[%d].name must be letters, digits, '-', '_' or '.'; got %q", i, t.Name)
		}
		if seenTenant[t.Name] {
			bad("cloud.tenants[%d].name %q appears twice", i, t.Name)
		}
		seenTenant[t.Name] = true
		if t.TokenFile == "" && len(t.Sites) == 0 && cl.ClientCAFile == "" {
			bad("cloud.tenants[%d].token_file is required (or sites, each with its token_file, or cloud.client_ca_file for certificates alone)", i)
		}
		seenSite := map[string]bool{}
		for j, s := range t.Sites {
			if !ValidName(s.Name) {
				bad("cloud.tenants[%d].sites[%d].name must be letters, digits, '-', '_' or '.'; got %q", i, j, s.Name)
			}
			if seenSite[s.Name] {
				bad("cloud.tenants[%d].sites[%d].name %q appears twice", i, j, s.Name)
			}
			seenSite[s.Name] = true
			if s.TokenFile == "" {
				bad("cloud.tenants[%d].sites[%d].token_file is required", i, j)
			}
		}
	}
	return errs
}

// ValidName reports whether s can name a tenant: letters, digits, '-', '_'
// and '.', at most 128 bytes, not "." or "..". It becomes a directory name.
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 128 {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// yamlDoc is a document holding n under key, to be read in Prometheus'
// syntax.
func yamlDoc(key string, n *yaml.Node) ([]byte, error) {
	return yaml.Marshal(map[string]*yaml.Node{key: n})
}

// oneLine is err with its lines joined by "; ": YAML errors come a line per
// problem.
func oneLine(err error) error {
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
}
