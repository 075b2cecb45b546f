package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

// TestHostileInputs runs every attack of the hostile suite against one
// cloud while its good edge keeps sending (see hostile_test.go). A cert of
// tenant A claiming tenant B is TestCertificateDecidesIdentity's, series
// explosions and label floods are TestTenantLimits'.
func TestHostileInputs(t *testing.T) {
	h := newHostileEnv(t)
	t.Run("bad and expired certificates", h.badCertificates)
	t.Run("stolen site token", h.stolenToken)
	t.Run("path traversal in tenant and site", h.hostileHelloNames)
	// Before the compression bomb, whose buffers the cloud's RSS keeps.
	t.Run("thousands of idle connections", h.idleConnections)
	t.Run("one tenant's many sites and queue ids", h.wideTenant)
	t.Run("garbage and oversized frames", h.garbageFrames)
	t.Run("compression bomb", h.compressionBomb)
	t.Run("path traversal in job and instance", h.hostileTargetNames)
	t.Run("slowloris on HTTP", h.slowloris)
}

// writePair writes a certificate and key PEM into the env's TLS directory
// under name.pem and name-key.pem.
func (h *hostileEnv) writePair(t *testing.T, name string, cert, key []byte) {
	t.Helper()
	os.WriteFile(filepath.Join(h.tlsDir, name+".pem"), cert, 0o600)
	os.WriteFile(filepath.Join(h.tlsDir, name+"-key.pem"), key, 0o600)
}

// expiredPair makes a client pair for acme/plant-7 signed by the cloud's
// own CA that expired yesterday.
func (h *hostileEnv) expiredPair(t *testing.T) {
	t.Helper()
	caPEM, _ := os.ReadFile(filepath.Join(h.tlsDir, "ca.pem"))
	caKeyPEM, _ := os.ReadFile(filepath.Join(h.tlsDir, "ca-key.pem"))
	cb, _ := pem.Decode(caPEM)
	kb, _ := pem.Decode(caKeyPEM)
	if cb == nil || kb == nil {
		t.Fatal("no CA PEM")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "plant-7", Organization: []string{"acme"}},
		URIs:         []*url.URL{{Scheme: "spiffe", Host: "acme", Path: "/plant-7"}},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     time.Now().Add(-24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	h.writePair(t, "expired", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// badCertificates: a pair from a foreign CA naming acme/plant-7, a pair of
// the cloud's CA that expired, and no certificate at all are refused in
// the TLS handshake, with the TLS alert saying why.
func (h *hostileEnv) badCertificates(t *testing.T) {
	evilCA, evilKey, err := tlsutil.GenerateCA("evil")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := tlsutil.GenerateEdgeLeaf(evilCA, evilKey, "acme", "plant-7")
	if err != nil {
		t.Fatal(err)
	}
	h.writePair(t, "foreign", cert, key)
	h.expiredPair(t)
	cases := []struct{ cert, key, alert string }{
		{"foreign.pem", "foreign-key.pem", "unknown certificate authority"},
		{"expired.pem", "expired-key.pem", "expired certificate"},
		{"", "", "certificate required"},
	}
	confs := make([]*tls.Config, len(cases))
	var accepted, attempts atomic.Int64
	unaccepted := func() float64 {
		return h.metric(t, "edgerelay_transport_tls_handshakes_total") - h.metric(t, "edgerelay_transport_connections_total")
	}
	before := unaccepted()
	for i, c := range cases {
		conf := h.clientTLS(t, c.cert, c.key)
		if len(conf.Certificates) > 0 {
			// Sent even when the cloud's CA did not sign it.
			pair := conf.Certificates[0]
			conf.Certificates = nil
			conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		}
		confs[i] = conf
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		rc, err := h.dial(ctx, conf)
		if err == nil {
			// TLS 1.3: the client's certificate is checked after the
			// client's handshake is done; the refusal arrives on the stream.
			err = rc.hello("acme", "plant-7", "acme-p7-token", 1)
			rc.close()
		}
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.alert) {
			t.Errorf("certificate %q: got %v, want a TLS alert %q", c.cert, err, c.alert)
		}
	}
	h.during(t, "bad and expired certificates", func(stop <-chan struct{}) {
		n := repeat(4, stop, func() {
			conf := confs[time.Now().UnixNano()%int64(len(cases))]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			attempts.Add(1)
			if rc, err := h.dial(ctx, conf); err == nil {
				if rc.hello("acme", "plant-7", "acme-p7-token", 1) == nil {
					accepted.Add(1)
				}
				rc.close()
			}
		})
		t.Logf("%d handshakes with bad certificates", n)
	})
	if accepted.Load() > 0 {
		t.Fatalf("%d connections with bad certificates were welcomed", accepted.Load())
	}
	// TLS refuses them before the cloud accepts a connection: they show as
	// handshakes begun that never became connections.
	if got, want := unaccepted()-before, float64(attempts.Load()+int64(len(cases))); got < want {
		t.Fatalf("%v handshakes refused by TLS counted, want %v", got, want)
	}
}

// stolenToken: an edge holding its own valid pair (good/g2) and the token
// of site g1 cannot send as g1, nor as g2 with g1's token.
func (h *hostileEnv) stolenToken(t *testing.T) {
	conf := h.clientTLS(t, "edge-good-g2.pem", "edge-good-g2-key.pem")
	before := h.metric(t, `edgerelay_cloud_auth_refused_total{reason="bad_token"}`)
	mismatch := h.metric(t, `edgerelay_cloud_auth_refused_total{reason="identity_mismatch"}`)
	var welcomed atomic.Int64
	h.during(t, "stolen site token", func(stop <-chan struct{}) {
		i := atomic.Int64{}
		repeat(4, stop, func() {
			site := []string{"g1", "g2"}[i.Add(1)%2]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rc, err := h.dial(ctx, conf)
			if err != nil {
				return
			}
			defer rc.close()
			if err := rc.hello("good", site, "good-g1-token", 7); err == nil {
				welcomed.Add(1)
			} else if !strings.Contains(err.Error(), "ERROR code 1") {
				t.Errorf("claiming %s with a stolen token: %v, want an ERROR frame refusing it", site, err)
			}
		})
	})
	if welcomed.Load() > 0 {
		t.Fatalf("%d connections with a stolen token were welcomed", welcomed.Load())
	}
	if h.metric(t, `edgerelay_cloud_auth_refused_total{reason="bad_token"}`) <= before ||
		h.metric(t, `edgerelay_cloud_auth_refused_total{reason="identity_mismatch"}`) <= mismatch {
		t.Fatal("refusals of the stolen token not counted as bad_token and identity_mismatch")
	}
	if _, err := os.Stat(filepath.Join(h.dir, "files", "good", "g2")); !os.IsNotExist(err) {
		t.Fatalf("files written for site g2: %v", err)
	}
	if _, body := h.federate(); strings.Contains(body, `site="g2"`) || !strings.Contains(body, `site="g1"`) {
		t.Fatal("/federate holds series of site g2")
	}
}

// hostileHelloNames: tenant and site names that would leave files_dir are
// refused at HELLO, before the credential is even looked at.
func (h *hostileEnv) hostileHelloNames(t *testing.T) {
	conf := h.clientTLS(t, "edge.pem", "edge-key.pem")
	before := h.metric(t, `edgerelay_cloud_auth_refused_total{reason="bad_name"}`)
	names := [][2]string{{"../../etc", "plant-7"}, {"acme", "../good/g1"}, {"..", "plant-7"}, {"acme", "/tmp"}, {"acme", "a\\..\\b"}}
	h.during(t, "path traversal in tenant and site", func(stop <-chan struct{}) {
		i := atomic.Int64{}
		repeat(4, stop, func() {
			n := names[i.Add(1)%int64(len(names))]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rc, err := h.dial(ctx, conf)
			if err != nil {
				return
			}
			defer rc.close()
			if err := rc.hello(n[0], n[1], "acme-p7-token", 1); err == nil || !strings.Contains(err.Error(), "not valid") {
				t.Errorf("hello as %q/%q: %v, want refused as not valid", n[0], n[1], err)
			}
		})
	})
	if h.metric(t, `edgerelay_cloud_auth_refused_total{reason="bad_name"}`) <= before {
		t.Fatal("refusals of bad names not counted as bad_name")
	}
}
