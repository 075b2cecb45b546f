package tlsutil

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handshake runs a TLS handshake between the two configs over loopback TCP
// and returns the client's and the server's error.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(c, server)
		err = s.Handshake()
		if err == nil {
			// A TLS 1.3 server rejects a client certificate after the
			// client thinks the handshake is done: exchange one byte.
			buf := make([]byte, 1)
			if _, err = s.Read(buf); err == nil {
				_, err = s.Write(buf)
			}
		}
		done <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(conn, client)
	clientErr = c.Handshake()
	if clientErr == nil {
		buf := []byte{1}
		if _, clientErr = c.Write(buf); clientErr == nil {
			_, clientErr = c.Read(buf)
		}
	}
	conn.Close()
	return clientErr, <-done
}

func TestWriteBundleMTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := WriteBundle(dir, []string{"cloud.example", "127.0.0.1"}, "acme", "plant-7"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{CAFile, 0o644}, {CAKeyFile, 0o600}, {CloudCertFile, 0o644}, {CloudKeyFile, 0o600}, {EdgeCertFile, 0o644}, {EdgeKeyFile, 0o600}} {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s mode = %v, want %v", f.name, st.Mode().Perm(), f.mode)
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	srv, err := ServerTLS(p(CloudCertFile), p(CloudKeyFile), p(CAFile), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		serverName string
		cert, key  string
		wantErr    bool
	}{
		{"mtls by dns name", "cloud.example", p(EdgeCertFile), p(EdgeKeyFile), false},
		{"mtls by ip", "127.0.0.1", p(EdgeCertFile), p(EdgeKeyFile), false},
		{"no client cert", "cloud.example", "", "", true},
		{"server cert as client cert", "cloud.example", p(CloudCertFile), p(CloudKeyFile), true},
		{"wrong server name", "other.example", p(EdgeCertFile), p(EdgeKeyFile), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, err := ClientTLS(tt.serverName, p(CAFile), tt.cert, tt.key, false)
			if err != nil {
				t.Fatal(err)
			}
			cerr, serr := handshake(t, srv, cli)
			if got := cerr != nil || serr != nil; got != tt.wantErr {
				t.Fatalf("client err %v, server err %v; want failure %v", cerr, serr, tt.wantErr)
			}
		})
	}
	if err := WriteBundle(dir, nil, "acme", "plant-7"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteBundle: err = %v, want fs.ErrExist", err)
	}
}

func TestServerTLSSelfSigned(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	srv, err := ServerTLS("", "", "", dir, log)
	if err != nil {
		t.Fatal(err)
	}
	fp := Fingerprint(srv.Certificates[0].Certificate[0])
	if !strings.Contains(logs.String(), fp) {
		t.Fatalf("fingerprint %s not logged: %s", fp, logs.String())
	}
	if st, err := os.Stat(filepath.Join(dir, SelfSignedKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("self-signed key: %v %v", st, err)
	}
	again, err := ServerTLS("", "", "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := Fingerprint(again.Certificates[0].Certificate[0]); got != fp {
		t.Fatalf("second start made a new certificate: %s != %s", got, fp)
	}
	caFile := filepath.Join(dir, SelfSignedCertFile)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		t.Run("pinned "+name, func(t *testing.T) {
			cli, err := ClientTLS(name, caFile, "", "", false)
			if err != nil {
				t.Fatal(err)
			}
			if cerr, serr := handshake(t, srv, cli); cerr != nil || serr != nil {
				t.Fatalf("client %v server %v", cerr, serr)
			}
		})
	}
	t.Run("system roots refuse it", func(t *testing.T) {
		cli, err := ClientTLS("localhost", "", "", "", false)
		if err != nil {
			t.Fatal(err)
		}
		if cerr, _ := handshake(t, srv, cli); cerr == nil {
			t.Fatal("handshake against system roots succeeded")
		}
	})
	t.Run("insecure skip verify", func(t *testing.T) {
		cli, err := ClientTLS("localhost", "", "", "", true)
		if err != nil {
			t.Fatal(err)
		}
		if cerr, serr := handshake(t, srv, cli); cerr != nil || serr != nil {
			t.Fatalf("client %v server %v", cerr, serr)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fn   func() error
	}{
		{"server cert without key", func() error { _, err := ServerTLS("a.pem", "", "", dir, nil); return err }},
		{"server no cert no data dir", func() error { _, err := ServerTLS("", "", "", "", nil); return err }},
		{"server missing cert file", func() error { _, err := ServerTLS("nope.pem", "nope-key.pem", "", "", nil); return err }},
		{"server junk client ca", func() error { _, err := ServerTLS("", "", notPEM, dir, nil); return err }},
		{"client key without cert", func() error { _, err := ClientTLS("x", "", "", "k.pem", false); return err }},
		{"client junk ca", func() error { _, err := ClientTLS("x", notPEM, "", "", false); return err }},
		{"leaf from junk ca", func() error { _, _, err := GenerateLeaf([]byte("x"), []byte("y"), "n", nil, false); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestGenerateLeafNeedsCA(t *testing.T) {
	caCert, caKey, err := GenerateCA("ca")
	if err != nil {
		t.Fatal(err)
	}
	leafCert, leafKey, err := GenerateLeaf(caCert, caKey, "leaf", []string{"localhost"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := GenerateLeaf(leafCert, leafKey, "grandchild", nil, false); err == nil {
		t.Fatal("a leaf signed another certificate")
	}
}
