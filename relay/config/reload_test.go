package config

import (
	"slices"
	"strings"
	"testing"
)

const reloadBase = `
edge:
  tenant: acme
  site: plant-7
  data_dir: /var/lib/edge
  http_listen: 127.0.0.1:9201
  external_labels: {dc: west}
  scrape_configs:
    - job_name: node
      static_configs: [{targets: ['127.0.0.1:9100']}]
  plugins:
    - {name: f, module: builtin:filter, config: {drop: ['up']}}
  upstream: {address: 127.0.0.1:4433}
cloud:
  data_dir: /var/lib/cloud
  remote_write:
    - url: http://127.0.0.1:9090/api/v1/write
  limits: {max_series: 10}
`

func TestRestartOnly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		want     []string
	}{
		{"nothing changed", "", "", nil},
		{"comment and layout only", "  remote_write:\n    - url: http://127.0.0.1:9090/api/v1/write",
			"  remote_write: # forward\n    - {url: 'http://127.0.0.1:9090/api/v1/write'}", nil},
		{"reloadable keys", "external_labels: {dc: west}", "external_labels: {dc: east}", nil},
		{"scrape job added", "  plugins:", "    - job_name: more\n      static_configs: [{targets: ['127.0.0.1:9101']}]\n  plugins:", nil},
		{"plugin changed", "drop: ['up']", "drop: ['down']", nil},
		{"limits and tenants", "limits: {max_series: 10}", "limits: {max_series: 20}\n  tenants: [{name: acme, token_file: /t}]", nil},
		{"listener", "http_listen: 127.0.0.1:9201", "http_listen: 127.0.0.1:9202", []string{"edge.http_listen"}},
		{"data dirs", "/var/lib/", "/srv/", []string{"edge.data_dir", "cloud.data_dir"}},
		{"nested key", "upstream: {address: 127.0.0.1:4433}", "upstream: {address: 127.0.0.1:4433, window: 4}", []string{"edge.upstream.window"}},
		{"remote_write", "9090/api", "9091/api", []string{"cloud.remote_write"}},
		{"delta stage", "drop: ['up']}}", "drop: ['up']}}\n    - {module: builtin:delta, config: {full_every: 1m}}", []string{"edge.plugins (builtin:delta)"}},
		{"role removed", "cloud:\n", "nocloud:\n", []string{"cloud"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			running, err := Parse([]byte(reloadBase))
			if err != nil {
				t.Fatal(err)
			}
			nextYAML := strings.ReplaceAll(reloadBase, tc.from, tc.to)
			if tc.name == "role removed" {
				nextYAML = reloadBase[:strings.Index(reloadBase, "cloud:\n")]
			}
			next, err := Parse([]byte(nextYAML))
			if err != nil {
				t.Fatalf("%v\n%s", err, nextYAML)
			}
			if got := RestartOnly(running, next); !slices.Equal(got, tc.want) {
				t.Errorf("RestartOnly = %q, want %q", got, tc.want)
			}
		})
	}
}
