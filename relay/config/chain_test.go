package config

import (
	"strings"
	"testing"
)

func TestChainValidation(t *testing.T) {
	for _, tc := range []struct{ name, cloud, wantErr string }{
		{"chain", "chain: {address: 'g:4433', name: region-eu}", ""},
		{"relays", "relays: [{name: region-eu, token_file: t, tenants: [acme]}]", ""},
		{"chain without name", "chain: {address: 'g:4433'}", `cloud.chain.name must be letters`},
		{"chain bad address", "chain: {address: g, name: r}", `cloud.chain.address must be host:port; got "g"`},
		{"relay without tenants", "relays: [{name: r, token_file: t}]", "cloud.relays[0].tenants is required"},
		{"relay wildcard", "relays: [{name: r, token_file: t, tenants: ['*']}]", `cloud.relays[0].tenants[0] must be a tenant name; got "*"`},
		{"relay without token", "relays: [{name: r, tenants: [acme]}]", "cloud.relays[0].token_file is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("cloud: {" + tc.cloud + "}\n"))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}
