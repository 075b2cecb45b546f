package webauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// serve runs a Listener for the file at path in front of a handler that
// answers with the authenticated user, and returns a client and base URL.
func serve(t *testing.T, path string, caPEM []byte) (*http.Client, string, *Listener) {
	t.Helper()
	l, err := New(path, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	who := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := User(r)
		fmt.Fprintf(w, "user=%s ok=%v", u, ok)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: l.Handler(who, "/-/healthy")}
	done := make(chan error, 1)
	go func() { done <- l.Serve(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	scheme, client := "http", &http.Client{Timeout: 30 * time.Second}
	if caPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
	}
	return client, scheme + "://" + ln.Addr().String(), l
}

func get(t *testing.T, c *http.Client, url, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTLSAndBasicAuth serves a web config file with TLS and two users:
// right credentials pass and name the user, wrong or missing ones get 401,
// the open path needs none, plain HTTP gets no answer, and a password
// changed in the file takes effect without a restart.
func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	caPEM, caKey, err := tlsutil.GenerateCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := tlsutil.GenerateLeaf(caPEM, caKey, "localhost", []string{"localhost", "127.0.0.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "c.pem"), cert, 0o644)
	os.WriteFile(filepath.Join(dir, "k.pem"), key, 0o600)
	path := filepath.Join(dir, "web.yml")
	write := func(alicePW string) {
		os.WriteFile(path, fmt.Appendf(nil, "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\nbasic_auth_users:\n  alice: %s\n  bob: %s\n", hash(t, alicePW), hash(t, "b0b")), 0o600)
	}
	write("s3cret")
	c, base, l := serve(t, path, caPEM)

	if code, body := get(t, c, base+"/x", "alice", "s3cret"); code != 200 || body != "user=alice ok=true" {
		t.Fatalf("alice: %d %q", code, body)
	}
	for _, tc := range []struct{ user, pass string }{{"alice", "wrong"}, {"mallory", "s3cret"}, {"", ""}} {
		if code, _ := get(t, c, base+"/x", tc.user, tc.pass); code != http.StatusUnauthorized {
			t.Errorf("%q/%q: %d, want 401", tc.user, tc.pass, code)
		}
	}
	if code, body := get(t, c, base+"/-/healthy", "", ""); code != 200 || body != "user= ok=false" {
		t.Errorf("open path: %d %q", code, body)
	}
	if code, body := get(t, c, strings.Replace(base, "https", "http", 1)+"/-/healthy", "", ""); code != http.StatusBadRequest {
		t.Errorf("plain HTTP on a TLS listener: %d %q, want Go's 400", code, body)
	}
	if !l.Users() || !l.TLS() || !l.HasUser("bob") || l.HasUser("mallory") {
		t.Errorf("Users %v TLS %v", l.Users(), l.TLS())
	}

	// Rotate alice's password; make sure the file's stamp changes.
	time.Sleep(10 * time.Millisecond)
	write("n3w-secret")
	os.Chtimes(path, time.Now().Add(time.Second), time.Now().Add(time.Second))
	if code, _ := get(t, c, base+"/x", "alice", "s3cret"); code != http.StatusUnauthorized {
		t.Errorf("old password after rotation: %d, want 401", code)
	}
	if code, _ := get(t, c, base+"/x", "alice", "n3w-secret"); code != 200 {
		t.Errorf("new password after rotation: %d, want 200", code)
	}

	// A file that stops validating refuses everything but the open path.
	os.WriteFile(path, []byte("basic_auth_users:\n  alice: not-a-bcrypt-hash\n"), 0o600)
	os.Chtimes(path, time.Now().Add(2*time.Second), time.Now().Add(2*time.Second))
	if code, _ := get(t, c, base+"/x", "alice", "n3w-secret"); code != http.StatusInternalServerError {
		t.Errorf("invalid file: %d, want 500", code)
	}
	if code, _ := get(t, c, base+"/-/healthy", "", ""); code != 200 {
		t.Errorf("open path with an invalid file: %d, want 200", code)
	}
}

// TestNoFile serves plain HTTP, anonymous requests passing.
func TestNoFile(t *testing.T) {
	c, base, l := serve(t, "", nil)
	if code, body := get(t, c, base+"/x", "", ""); code != 200 || body != "user= ok=false" {
		t.Fatalf("%d %q", code, body)
	}
	if l.Users() || l.TLS() {
		t.Error("no file, yet users or TLS")
	}
}

// TestCheckRefuses names what is wrong with a bad file, as New does.
func TestCheckRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"unknown field", "basic_auth_user:\n  a: b\n", "field basic_auth_user not found"},
		{"not bcrypt", "basic_auth_users:\n  a: plain\n", "hashedSecret too short"},
		{"missing cert", "tls_server_config:\n  cert_file: nope.pem\n  key_file: nope-key.pem\n", "nope.pem"},
		{"key without cert", "tls_server_config:\n  key_file: k.pem\n", "missing one of cert or cert_file"},
		{"bad header", "http_server_config:\n  headers:\n    Server: x\n", `"Server" can not be configured`},
		{"burst zero", "rate_limit:\n  interval: 1s\n", "burst must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yml")
			os.WriteFile(path, []byte(tc.body), 0o600)
			_, err := Check(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v, want %q", err, tc.want)
			}
			if _, err2 := New(path, nil, nil); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("New: %v, Check: %v", err2, err)
			}
		})
	}
	if _, err := Check(filepath.Join(dir, "absent.yml")); err == nil {
		t.Fatal("absent file accepted")
	}
}
