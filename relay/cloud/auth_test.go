package cloud

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// authCase is one connection attempt and what must come of it.
type authCase struct {
	name   string
	a      *authenticator
	h      transport.Hello
	cert   *x509.Certificate
	reason string // refusal reason, "" for accepted
}

func runAuthCases(t *testing.T, cases []authCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cs tls.ConnectionState
			if tc.cert != nil {
				cs.PeerCertificates = []*x509.Certificate{tc.cert}
			}
			before := map[string]float64{}
			for _, r := range []string{refusedName, refusedToken, refusedCert, refusedMismatch, refusedRevoked} {
				before[r] = testutil.ToFloat64(tc.a.refused.WithLabelValues(r))
			}
			p, err := tc.a.check(tc.h, cs)
			if (err == nil) != (tc.reason == "") {
				t.Fatalf("err = %v, want refusal %q", err, tc.reason)
			}
			if tc.reason == "" && (p.Tenant != tc.h.Tenant || p.Site != tc.h.Site || p.QueueID != tc.h.QueueID) {
				t.Fatalf("peer %+v from hello %+v", p, tc.h)
			}
			for r, b := range before {
				want := 0.0
				if r == tc.reason {
					want = 1
				}
				if got := testutil.ToFloat64(tc.a.refused.WithLabelValues(r)) - b; got != want {
					t.Fatalf("refused{reason=%q} moved by %v, want %v (err %v)", r, got, want, err)
				}
			}
		})
	}
}

func newAuth(t *testing.T, cfg *config.Cloud) *authenticator {
	t.Helper()
	a, err := newAuthenticator(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthenticatorTokens(t *testing.T) {
	dir := t.TempDir()
	tok := writeFile(t, filepath.Join(dir, "acme.token"), "s3cret\n")
	s1 := writeFile(t, filepath.Join(dir, "s1.token"), "site-one")
	s2 := writeFile(t, filepath.Join(dir, "s2.token"), "site-two")
	closed := newAuth(t, &config.Cloud{Tenants: []config.Tenant{
		{Name: "acme", TokenFile: tok},
		{Name: "bolt", Sites: []config.Site{{Name: "s1", TokenFile: s1}, {Name: "s2", TokenFile: s2}}},
	}})
	open := newAuth(t, &config.Cloud{})
	runAuthCases(t, []authCase{
		{"right token", closed, transport.Hello{Tenant: "acme", Site: "s1", Token: "s3cret", QueueID: 9}, nil, ""},
		{"wrong token", closed, transport.Hello{Tenant: "acme", Site: "s1", Token: "guess"}, nil, refusedToken},
		{"token of another tenant", closed, transport.Hello{Tenant: "other", Site: "s1", Token: "s3cret"}, nil, refusedToken},
		{"no token", closed, transport.Hello{Tenant: "acme", Site: "s1"}, nil, refusedToken},
		{"site token", closed, transport.Hello{Tenant: "bolt", Site: "s2", Token: "site-two"}, nil, ""},
		{"site token claiming another site", closed, transport.Hello{Tenant: "bolt", Site: "s1", Token: "site-two"}, nil, refusedToken},
		{"unlisted site", closed, transport.Hello{Tenant: "bolt", Site: "s3", Token: "site-two"}, nil, refusedToken},
		{"site token for another tenant", closed, transport.Hello{Tenant: "acme", Site: "s1", Token: "site-one"}, nil, refusedToken},
		{"open: any valid tenant", open, transport.Hello{Tenant: "anyone", Site: "s1"}, nil, ""},
		{"open: path in tenant", open, transport.Hello{Tenant: "../etc", Site: "s1"}, nil, refusedName},
		{"open: empty site", open, transport.Hello{Tenant: "acme"}, nil, refusedName},
	})

	log := slog.New(slog.DiscardHandler)
	if _, err := newAuthenticator(&config.Cloud{Tenants: []config.Tenant{{Name: "acme", TokenFile: filepath.Join(dir, "missing")}}}, log, prometheus.NewRegistry()); err == nil {
		t.Fatal("missing token file accepted")
	}
	empty := writeFile(t, filepath.Join(dir, "empty"), "")
	if _, err := newAuthenticator(&config.Cloud{Tenants: []config.Tenant{{Name: "acme", Sites: []config.Site{{Name: "s", TokenFile: empty}}}}}, log, prometheus.NewRegistry()); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty site token file: %v", err)
	}
}

// testCA writes a CA and returns a function issuing certificates from it.
func testCA(t *testing.T) (caCert, caKey []byte) {
	t.Helper()
	c, k, err := tlsutil.GenerateCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthenticatorCertificates(t *testing.T) {
	caCert, caKey := testCA(t)
	edge := func(tenant, site string) *x509.Certificate {
		c, _, err := tlsutil.GenerateEdgeLeaf(caCert, caKey, tenant, site)
		if err != nil {
			t.Fatal(err)
		}
		return parseCert(t, c)
	}
	acme7 := edge("acme", "plant-7")
	plain, _, err := tlsutil.GenerateLeaf(caCert, caKey, "plant-9", nil, true) // O=edgerelay, CN=plant-9, no URI SAN
	if err != nil {
		t.Fatal(err)
	}
	subjectOnly := parseCert(t, plain)
	// A certificate whose URI SAN and subject disagree: auto and spiffe
	// take the SAN, subject takes O and CN.
	split := edge("acme", "plant-7")
	split.Subject.Organization, split.Subject.CommonName = []string{"bolt"}, "yard-1"

	auto := newAuth(t, &config.Cloud{ClientCAFile: "ca.pem"})
	listed := newAuth(t, &config.Cloud{ClientCAFile: "ca.pem", Tenants: []config.Tenant{{Name: "acme"}}})
	spiffe := newAuth(t, &config.Cloud{ClientCAFile: "ca.pem", ClientIdentity: "spiffe"})
	subject := newAuth(t, &config.Cloud{ClientCAFile: "ca.pem", ClientIdentity: "subject"})
	runAuthCases(t, []authCase{
		{"own identity", auto, transport.Hello{Tenant: "acme", Site: "plant-7", QueueID: 3}, acme7, ""},
		{"claims another tenant", auto, transport.Hello{Tenant: "victim-tenant", Site: "plant-7"}, acme7, refusedMismatch},
		{"claims another site", auto, transport.Hello{Tenant: "acme", Site: "plant-8"}, acme7, refusedMismatch},
		{"no certificate", auto, transport.Hello{Tenant: "acme", Site: "plant-7"}, nil, refusedCert},
		{"auto falls back to the subject", auto, transport.Hello{Tenant: "edgerelay", Site: "plant-9"}, subjectOnly, ""},
		{"auto prefers the URI SAN", auto, transport.Hello{Tenant: "bolt", Site: "yard-1"}, split, refusedMismatch},
		{"spiffe needs a URI SAN", spiffe, transport.Hello{Tenant: "edgerelay", Site: "plant-9"}, subjectOnly, refusedCert},
		{"spiffe", spiffe, transport.Hello{Tenant: "acme", Site: "plant-7"}, split, ""},
		{"subject ignores the URI SAN", subject, transport.Hello{Tenant: "bolt", Site: "yard-1"}, split, ""},
		{"subject mismatch", subject, transport.Hello{Tenant: "acme", Site: "plant-7"}, split, refusedMismatch},
		{"listed tenant, certificate alone", listed, transport.Hello{Tenant: "acme", Site: "plant-7"}, acme7, ""},
		{"unlisted tenant with a valid certificate", listed, transport.Hello{Tenant: "edgerelay", Site: "plant-9"}, subjectOnly, refusedToken},
	})
}

func TestAuthenticatorRevocationReloads(t *testing.T) {
	caCert, caKey := testCA(t)
	certPEM, _, err := tlsutil.GenerateEdgeLeaf(caCert, caKey, "acme", "plant-7")
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, certPEM)
	sum := sha256.Sum256(cert.Raw)
	path := writeFile(t, filepath.Join(t.TempDir(), "revoked"), "# nothing revoked yet\n")
	a := newAuth(t, &config.Cloud{ClientCAFile: "ca.pem", RevokedFile: path})
	hello := transport.Hello{Tenant: "acme", Site: "plant-7"}
	rewrite := func(content string) {
		t.Helper()
		writeFile(t, path, content)
		// A later modification time, and no wait for the once-a-second check.
		future := time.Now().Add(time.Duration(len(content)) * time.Second)
		os.Chtimes(path, future, future)
		a.revoked.mu.Lock()
		a.revoked.checked = time.Time{}
		a.revoked.mu.Unlock()
	}
	runAuthCases(t, []authCase{{"not revoked", a, hello, cert, ""}})
	rewrite("acme/plant-7\n")
	runAuthCases(t, []authCase{{"site revoked", a, hello, cert, refusedRevoked}})
	rewrite("# by serial\n" + cert.SerialNumber.Text(16) + "\n")
	runAuthCases(t, []authCase{{"serial revoked", a, hello, cert, refusedRevoked}})
	rewrite(tlsutil.Fingerprint(cert.Raw) + "  # by fingerprint, openssl's form\n")
	runAuthCases(t, []authCase{{"fingerprint revoked", a, hello, cert, refusedRevoked}})
	rewrite(hex.EncodeToString(sum[:]) + "\n")
	runAuthCases(t, []authCase{{"fingerprint revoked, plain hex", a, hello, cert, refusedRevoked}})
	rewrite("not hex and no slash\n")
	runAuthCases(t, []authCase{{"a bad file keeps the last list", a, hello, cert, refusedRevoked}})
	rewrite("\n")
	runAuthCases(t, []authCase{{"unrevoked", a, hello, cert, ""}})

	if _, err := newAuthenticator(&config.Cloud{RevokedFile: filepath.Join(t.TempDir(), "missing")},
		slog.New(slog.DiscardHandler), prometheus.NewRegistry()); err == nil {
		t.Fatal("missing revoked_file accepted")
	}
}
