package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
	"go.yaml.in/yaml/v3"
)

// rwCase is one remote_write document; see TestRemoteWriteDifferential.
type rwCase struct {
	name, doc, refused string
	bad                bool
}

var rwCases = []rwCase{
	{name: "defaults", doc: `remote_write: [{url: "http://127.0.0.1:9090/api/v1/write"}]`},
	{name: "none", doc: `remote_write: []`},
	{name: "every key", doc: `remote_write:
- url: https://m.example/api/v1/push
  name: mimir
  remote_timeout: 10s
  headers: {X-Scope-OrgID: acme, X-A: b}
  write_relabel_configs: [{source_labels: [__name__], regex: go_.*, action: drop}]
  send_exemplars: true
  send_native_histograms: true
  protobuf_message: prometheus.WriteRequest
  basic_auth: {username: u, password_file: pw}
  tls_config: {ca_file: ca.pem, insecure_skip_verify: true}
  proxy_url: http://127.0.0.1:3128
  follow_redirects: false
  enable_http2: true
  queue_config: {capacity: 500, max_shards: 4, min_shards: 2, max_samples_per_send: 100, batch_send_deadline: 1s, min_backoff: 1s, max_backoff: 1m, retry_on_http_429: true, sample_age_limit: 1h}
  metadata_config: {send: false, send_interval: 2m, max_samples_per_send: 10}
`},
	{name: "two named", doc: `remote_write: [{url: "http://a/w", name: a}, {url: "http://b/w", name: b, authorization: {credentials: x}}]`},
	{name: "oauth2", doc: `remote_write: [{url: "http://a/w", oauth2: {client_id: i, client_secret: s, token_url: "http://a/t"}}]`},
	{name: "partial queue", doc: `remote_write: [{url: "http://a/w", queue_config: {max_shards: 3}}]`},
	{name: "partial metadata", doc: `remote_write: [{url: "http://a/w", metadata_config: {send_interval: 10s}}]`},

	{name: "sigv4", doc: `remote_write: [{url: "http://a/w", sigv4: {region: eu-west-1}}]`, refused: sigv4Refusal},
	{name: "azuread", doc: `remote_write: [{url: "http://a/w", azuread: {cloud: AzurePublic}}]`, refused: "cloud.remote_write[0].azuread is not supported by edgerelay"},
	{name: "google_iam", doc: `remote_write: [{url: "http://a/w", google_iam: {credentials_file: x}}]`, refused: "cloud.remote_write[0].google_iam is not supported by edgerelay"},
	{name: "round_robin_dns", doc: `remote_write: [{url: "http://a/w", round_robin_dns: true}]`, refused: "cloud.remote_write[0].round_robin_dns is not supported"},
	{name: "failed_request_logging", doc: `remote_write: [{url: "http://a/w"}, {url: "http://b/w", failed_request_logging: true}]`, refused: "cloud.remote_write[1].failed_request_logging is not supported"},
	{name: "remote_write 2.0", doc: `remote_write: [{url: "http://a/w", protobuf_message: io.prometheus.write.v2.Request}]`, refused: "protobuf_message is not supported by edgerelay"},

	{name: "no url", bad: true, doc: `remote_write: [{name: a}]`},
	{name: "null entry", bad: true, doc: `remote_write: [null]`},
	{name: "bad url", bad: true, doc: `remote_write: [{url: "::"}]`},
	{name: "duplicate name", bad: true, doc: `remote_write: [{url: "http://a/w", name: x}, {url: "http://b/w", name: x}]`},
	{name: "unknown key", bad: true, doc: `remote_write: [{url: "http://a/w", remote_timeoutt: 1s}]`},
	{name: "unknown queue key", bad: true, doc: `remote_write: [{url: "http://a/w", queue_config: {shards: 1}}]`},
	{name: "authorization header", bad: true, doc: `remote_write: [{url: "http://a/w", headers: {Authorization: x}}]`},
	{name: "reserved header", bad: true, doc: `remote_write: [{url: "http://a/w", headers: {content-type: x}}]`},
	{name: "amz header", bad: true, doc: `remote_write: [{url: "http://a/w", headers: {X-Amz-Date: x}}]`},
	{name: "bad protobuf message", bad: true, doc: `remote_write: [{url: "http://a/w", protobuf_message: x}]`},
	{name: "null relabel", bad: true, doc: `remote_write: [{url: "http://a/w", write_relabel_configs: [null]}]`},
	{name: "bad relabel", bad: true, doc: `remote_write: [{url: "http://a/w", write_relabel_configs: [{action: nope}]}]`},
	{name: "two auths", bad: true, doc: `remote_write: [{url: "http://a/w", basic_auth: {username: u}, oauth2: {client_id: i, token_url: "http://a/t"}}]`},
	{name: "zero shards", bad: true, doc: `remote_write: [{url: "http://a/w", queue_config: {max_shards: -1}}]`},
	{name: "min over max shards", bad: true, doc: `remote_write: [{url: "http://a/w", queue_config: {min_shards: 5, max_shards: 2}}]`},
	{name: "zero samples per send", bad: true, doc: `remote_write: [{url: "http://a/w", queue_config: {max_samples_per_send: -5}}]`},
	{name: "negative capacity", bad: true, doc: `remote_write: [{url: "http://a/w", queue_config: {capacity: -1}}]`},
	{name: "backoffs reversed", bad: true, doc: `remote_write: [{url: "http://a/w", queue_config: {min_backoff: 1m, max_backoff: 1s}}]`},
	{name: "bad duration", bad: true, doc: `remote_write: [{url: "http://a/w", remote_timeout: later}]`},
	{name: "not a list", bad: true, doc: `remote_write: {url: "http://a/w"}`},
}

// rwTypeNames are the Go type names in YAML errors, which differ.
var rwTypeNames = regexp.MustCompile(`\b\w+\.(plain|RemoteWriteConfig|QueueConfig|MetadataConfig)\b`)

// TestRemoteWriteDifferential reads each document as cloud.remote_write
// and with Prometheus' config.Load: the same verdict and the same values,
// or a refusal by name where edgerelay does not implement a key.
func TestRemoteWriteDifferential(t *testing.T) {
	for _, c := range rwCases {
		t.Run(c.name, func(t *testing.T) {
			ours, err := loadCloudRemoteWrite(t, c.doc)
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("want a refusal saying %q, got %v", c.refused, err)
				}
				return
			}
			prom, perr := promconfig.Load(c.doc, slog.New(slog.DiscardHandler))
			if (err == nil) != (perr == nil) || (perr != nil) != c.bad {
				t.Fatalf("edgerelay: %v; Prometheus: %v; want refused: %v", err, perr, c.bad)
			}
			if err != nil {
				a, b := rwTypeNames.ReplaceAllString(err.Error(), "T"), rwTypeNames.ReplaceAllString(oneLine(perr).Error(), "T")
				if !strings.HasSuffix(a, b) {
					t.Errorf("edgerelay says %q, Prometheus %q", a, b)
				}
				return
			}
			if len(ours) != len(prom.RemoteWriteConfigs) {
				t.Fatalf("%d entries, Prometheus %d", len(ours), len(prom.RemoteWriteConfigs))
			}
			for i, rw := range ours {
				for _, d := range compareRemoteWrite(rw, prom.RemoteWriteConfigs[i]) {
					t.Errorf("remote_write[%d]: %s", i, d)
				}
			}
		})
	}
}

// loadCloudRemoteWrite reads doc's remote_write as cloud.remote_write.
func loadCloudRemoteWrite(t *testing.T, doc string) ([]*RemoteWriteConfig, error) {
	t.Helper()
	var d struct {
		RemoteWrite yaml.Node `yaml:"remote_write"`
	}
	if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	cl := &Cloud{RemoteWrite: d.RemoteWrite}
	if err := errors.Join(cl.resolveRemoteWrite("")...); err != nil {
		return nil, err
	}
	return cl.Forward, nil
}

// compareRemoteWrite returns each field of Prometheus' entry whose value
// is not ours, or that we lack though the key is not refused.
func compareRemoteWrite(ours *RemoteWriteConfig, prom *promconfig.RemoteWriteConfig) []string {
	var diffs []string
	ov, pv := reflect.ValueOf(ours).Elem(), reflect.ValueOf(prom).Elem()
	for i := range pv.NumField() {
		f := pv.Type().Field(i)
		of := ov.FieldByName(f.Name)
		if !of.IsValid() {
			if !pv.Field(i).IsZero() || !refusedRemoteWriteKey(f) {
				diffs = append(diffs, f.Name+": Prometheus has it, edgerelay does not")
			}
			continue
		}
		if a, b := fmt.Sprintf("%#v", of.Interface()), fmt.Sprintf("%#v", pv.Field(i).Interface()); of.Type() == pv.Field(i).Type() && !reflect.DeepEqual(of.Interface(), pv.Field(i).Interface()) ||
			of.Type() != pv.Field(i).Type() && fmt.Sprint(of.Interface()) != fmt.Sprint(pv.Field(i).Interface()) {
			diffs = append(diffs, fmt.Sprintf("%s: %s, Prometheus %s", f.Name, a, b))
		}
	}
	return diffs
}

// refusedRemoteWriteKey reports whether f's key is refused by name.
func refusedRemoteWriteKey(f reflect.StructField) bool {
	key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	for _, k := range append(append([]unsupportedKey{}, unsupportedRemoteWrite...), fullOnlyRemoteWrite...) {
		if k.path == key {
			return true
		}
	}
	return false
}

// TestRemoteWriteKeysKnown: every key of Prometheus' remote_write entry,
// queue_config and metadata_config is read by edgerelay or refused by name.
func TestRemoteWriteKeysKnown(t *testing.T) {
	refused := map[string]bool{}
	for _, k := range append(append([]unsupportedKey{}, unsupportedRemoteWrite...), fullOnlyRemoteWrite...) {
		refused[k.path] = true
	}
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[promconfig.RemoteWriteConfig](), reflect.TypeFor[RemoteWriteConfig]()},
		{reflect.TypeFor[promconfig.QueueConfig](), reflect.TypeFor[QueueConfig]()},
		{reflect.TypeFor[promconfig.MetadataConfig](), reflect.TypeFor[MetadataConfig]()},
	} {
		ours := tagKeys(pair[1])
		for k := range tagKeys(pair[0]) {
			if !ours[k] && !refused[k] {
				t.Errorf("Prometheus' %s key %s is neither read nor refused", pair[0].Name(), k)
			}
		}
	}
}

// tagKeys returns the YAML keys of struct type t, its inline fields' too.
func tagKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			for k := range tagKeys(f.Type) {
				keys[k] = true
			}
		} else if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}
