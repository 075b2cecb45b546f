package config

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RemoteWriteOut is what edgerelay adds to one cloud.remote_write entry
// beside Prometheus' own keys; the entry's other keys are a
// RemoteWriteConfig.
type RemoteWriteOut struct {
	// TenantHeader, when set (e.g. X-Scope-OrgID for Mimir, Cortex, Loki
	// or VictoriaMetrics cluster's vmauth), sends each request with this
	// header set to the tenant whose samples it carries: requests never
	// mix tenants. Empty: requests carry several tenants' series, each
	// labelled with its tenant.
	TenantHeader string `yaml:"tenant_header"`
	// QueueMaxBytes bounds the output's durable queue on the cloud's disk
	// (under data_dir/remote_write/<name>); past it the oldest samples are
	// dropped, counted in edgerelay_remote_write_dropped_samples_total
	// {reason="queue_full"}. Default 1GiB.
	QueueMaxBytes Bytes `yaml:"queue_max_bytes"`
	// RetryOn429 is queue_config.retry_on_http_429 as written: unset
	// (nil) retries a 429 like a 5xx, as edgerelay always did; false makes
	// a 429 a permanent refusal, dropped and counted, as in Prometheus.
	RetryOn429 *bool `yaml:"-"`
}

// DefaultRemoteWriteQueueMaxBytes is queue_max_bytes when unset.
const DefaultRemoteWriteQueueMaxBytes = 1 << 30

// minRemoteWriteQueueBytes is the smallest queue_max_bytes: a block
// received (up to max_block_bytes) must fit in the queue.
const minRemoteWriteQueueBytes = 1 << 20

// remoteWriteKeys are the keys of RemoteWriteOut inside a remote_write
// entry; they are taken out before the entry is read as a
// RemoteWriteConfig.
var remoteWriteKeys = []string{"tenant_header", "queue_max_bytes"}

// splitRemoteWrite takes edgerelay's own keys out of each entry of the
// sequence n and returns a copy of n without them (nor the keys in
// refused, which are refused by name), and the keys' values.
func splitRemoteWrite(n *yaml.Node, refused []unsupportedKey) (*yaml.Node, []RemoteWriteOut, []error) {
	if n.Kind != yaml.SequenceNode {
		return n, nil, nil
	}
	out := *n
	out.Content = make([]*yaml.Node, len(n.Content))
	opts := make([]RemoteWriteOut, len(n.Content))
	var errs []error
	for i, entry := range n.Content {
		out.Content[i] = entry
		if entry.Kind != yaml.MappingNode {
			continue
		}
		kept := *entry
		kept.Content = nil
		own := &yaml.Node{Kind: yaml.MappingNode}
		for j := 0; j+1 < len(entry.Content); j += 2 {
			k := entry.Content[j].Value
			if isRefused(k, refused) {
				continue
			}
			if isRemoteWriteKey(k) {
				own.Content = append(own.Content, entry.Content[j], entry.Content[j+1])
			} else {
				kept.Content = append(kept.Content, entry.Content[j], entry.Content[j+1])
			}
		}
		out.Content[i] = &kept
		if err := own.Decode(&opts[i]); err != nil {
			errs = append(errs, fmt.Errorf("cloud.remote_write[%d]: %w", i, err))
		}
		if hasPath(entry, []string{"queue_config", "retry_on_http_429"}) {
			var qc struct {
				QC struct {
					Retry bool `yaml:"retry_on_http_429"`
				} `yaml:"queue_config"`
			}
			if err := kept.Decode(&qc); err == nil {
				opts[i].RetryOn429 = &qc.QC.Retry
			}
		}
	}
	return &out, opts, errs
}

func isRefused(k string, refused []unsupportedKey) bool {
	for _, r := range refused {
		if k == r.path {
			return true
		}
	}
	return false
}

func isRemoteWriteKey(k string) bool {
	for _, o := range remoteWriteKeys {
		if k == o {
			return true
		}
	}
	return false
}

// validateRemoteWrite checks each entry's edgerelay keys and the values of
// Prometheus keys edgerelay takes only in part, and applies defaults.
func validateRemoteWrite(rws []*RemoteWriteConfig, opts []RemoteWriteOut) []error {
	var errs []error
	names := map[string]int{}
	for i, rw := range rws {
		o := &opts[i]
		field := fmt.Sprintf("cloud.remote_write[%d]", i)
		if o.QueueMaxBytes == 0 {
			o.QueueMaxBytes = DefaultRemoteWriteQueueMaxBytes
		}
		if o.QueueMaxBytes < minRemoteWriteQueueBytes {
			errs = append(errs, fmt.Errorf("%s.queue_max_bytes must be at least 1MiB; got %d", field, o.QueueMaxBytes))
		}
		if h := o.TenantHeader; h != "" {
			if !headerName(h) {
				errs = append(errs, fmt.Errorf("%s.tenant_header is not an HTTP header name; got %q", field, h))
			}
			for k := range rw.Headers {
				if strings.EqualFold(k, h) {
					errs = append(errs, fmt.Errorf("%s: headers sets %s, which tenant_header sets per tenant", field, k))
				}
			}
		}
		if rw.ProtobufMessage != "" && rw.ProtobufMessage != WriteV1MessageType {
			errs = append(errs, fmt.Errorf("%s.protobuf_message is not supported by edgerelay with value %q: edgerelay sends remote_write 1.0 (%s)",
				field, rw.ProtobufMessage, WriteV1MessageType))
		}
		dir := RemoteWriteDirName(rw)
		if j, ok := names[dir]; ok {
			errs = append(errs, fmt.Errorf("%s has the queue directory of cloud.remote_write[%d] (%q): give each a distinct name", field, j, dir))
		}
		names[dir] = i
	}
	return errs
}

// RemoteWriteDirName is the directory under data_dir/remote_write that
// holds the queue of rw: its name when set, else its URL, with every byte
// other than letters, digits, '-', '_' and '.' written as '_'.
func RemoteWriteDirName(rw *RemoteWriteConfig) string {
	s := rw.Name
	if s == "" && rw.URL != nil {
		s = rw.URL.Host + rw.URL.Path
	}
	b := []byte(s)
	for i, c := range b {
		ok := c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			b[i] = '_'
		}
	}
	if s := string(b); s != "" && s != "." && s != ".." {
		return s
	}
	return "_"
}

// headerName reports whether h is a plain HTTP header name: letters,
// digits, '-' and '_'.
func headerName(h string) bool {
	for _, c := range []byte(h) {
		if !(c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return h != ""
}

// resolveRemoteWrite reads cloud.remote_write: keys refused by name, then
// edgerelay's keys (RemoteWriteOut) and each entry's RemoteWriteConfig.
func (cl *Cloud) resolveRemoteWrite(dir string) []error {
	keys := append(append([]unsupportedKey{}, unsupportedRemoteWrite...), fullOnlyRemoteWrite...)
	errs := refuseUnsupported("cloud.remote_write", &cl.RemoteWrite, keys)
	// The rest is read without the refused keys, so that its own problems
	// are said too.
	prom, out, oerrs := splitRemoteWrite(&cl.RemoteWrite, keys)
	errs = append(errs, oerrs...)
	doc, err := yamlDoc("remote_write", prom)
	var rws []*RemoteWriteConfig
	if err == nil {
		rws, err = loadRemoteWrite(doc)
	}
	if err != nil {
		return append(errs, fmt.Errorf("cloud.remote_write: %w", oneLine(err)))
	}
	if len(oerrs) > 0 {
		return errs
	}
	for _, rw := range rws {
		if dir != "" {
			rw.SetDirectory(filepath.Clean(dir))
		}
	}
	cl.Forward, cl.ForwardOut = rws, out
	return append(errs, validateRemoteWrite(cl.Forward, cl.ForwardOut)...)
}
