package cloud

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

func TestAuthenticator(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "acme.token")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	log := slog.New(slog.DiscardHandler)

	closed, err := newAuthenticator([]config.Tenant{{Name: "acme", TokenFile: tok}}, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	open, _ := newAuthenticator(nil, log, prometheus.NewRegistry())

	for _, tc := range []struct {
		name string
		a    *authenticator
		h    transport.Hello
		ok   bool
	}{
		{"right token", closed, transport.Hello{Tenant: "acme", Site: "s1", Token: "s3cret", QueueID: 9}, true},
		{"wrong token", closed, transport.Hello{Tenant: "acme", Site: "s1", Token: "guess"}, false},
		{"token of another tenant", closed, transport.Hello{Tenant: "other", Site: "s1", Token: "s3cret"}, false},
		{"no token", closed, transport.Hello{Tenant: "acme", Site: "s1"}, false},
		{"open: any valid tenant", open, transport.Hello{Tenant: "anyone", Site: "s1"}, true},
		{"open: path in tenant", open, transport.Hello{Tenant: "../etc", Site: "s1"}, false},
		{"open: empty site", open, transport.Hello{Tenant: "acme"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(tc.a.refused)
			p, err := tc.a.check(tc.h, tls.ConnectionState{})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (p.Tenant != tc.h.Tenant || p.Site != tc.h.Site || p.QueueID != tc.h.QueueID) {
				t.Fatalf("peer %+v from hello %+v", p, tc.h)
			}
			if refused := testutil.ToFloat64(tc.a.refused) - before; refused != map[bool]float64{true: 0, false: 1}[tc.ok] {
				t.Fatalf("refused counter moved by %v", refused)
			}
		})
	}

	if _, err := newAuthenticator([]config.Tenant{{Name: "acme", TokenFile: filepath.Join(dir, "missing")}}, log, prometheus.NewRegistry()); err == nil {
		t.Fatal("missing token file accepted")
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := newAuthenticator([]config.Tenant{{Name: "acme", TokenFile: empty}}, log, prometheus.NewRegistry()); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty token file: %v", err)
	}
}
