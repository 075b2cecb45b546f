package config

import (
	"strings"
	"testing"
)

// TestOpenCloudRefused: a cloud other hosts reach must authenticate its
// edges and its HTTP readers, or say that its network is trusted.
func TestOpenCloudRefused(t *testing.T) {
	const quicErr = "cloud.quic_listen \"%s\" is reachable from other hosts, but edges are not authenticated"
	const httpErr = "cloud.http_listen \"%s\" is reachable from other hosts without authentication"
	for _, tc := range []struct {
		name, cloud string
		wantErr     []string
	}{
		{"defaults on loopback", "data_dir: d", nil},
		{"loopback addresses", "quic_listen: '127.0.0.2:4433'\n  http_listen: '[::1]:9400'", nil},
		{"localhost", "quic_listen: 'localhost:4433'\n  http_listen: 'localhost:9400'", nil},
		{"quic on every address", "quic_listen: ':4433'", []string{strings.Replace(quicErr, "%s", ":4433", 1)}},
		{"quic on a wildcard", "quic_listen: '0.0.0.0:4433'", []string{strings.Replace(quicErr, "%s", "0.0.0.0:4433", 1)}},
		{"quic on an interface", "quic_listen: '10.0.0.1:4433'", []string{"cloud.allow_unauthenticated: true"}},
		{"quic on a name", "quic_listen: 'relay.example.com:4433'", []string{strings.Replace(quicErr, "%s", "relay.example.com:4433", 1)}},
		{"quic with tenants", "quic_listen: '[::]:4433'\n  tenants: [{name: acme, token_file: t}]", nil},
		{"quic with client certificates", "quic_listen: '[::]:4433'\n  client_ca_file: ca.pem", nil},
		{"http on every address", "http_listen: '0.0.0.0:9400'", []string{strings.Replace(httpErr, "%s", "0.0.0.0:9400", 1)}},
		{"http with tenants but no web config", "http_listen: '0.0.0.0:9400'\n  tenants: [{name: acme, token_file: t}]", []string{"no cloud.web_config_file"}},
		{"http with a web config", "http_listen: '0.0.0.0:9400'\n  web_config_file: web.yml", nil},
		{"both, allowed", "quic_listen: ':4433'\n  http_listen: ':9400'\n  allow_unauthenticated: true", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("cloud:\n  " + tc.cloud + "\n"))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error saying %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to say %q", err, w)
				}
			}
		})
	}
}
