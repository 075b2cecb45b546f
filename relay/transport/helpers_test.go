package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/prometheus/client_golang/prometheus"
)

// pki is a CA bundle written by tlsutil for one test.
type pki struct{ dir string }

func newPKI(t testing.TB) pki {
	t.Helper()
	dir := t.TempDir()
	if err := tlsutil.WriteBundle(dir, []string{"localhost", "127.0.0.1"}, "acme", "site-1"); err != nil {
		t.Fatal(err)
	}
	return pki{dir}
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

func (p pki) server(t testing.TB, mtls bool) *tls.Config {
	t.Helper()
	ca := ""
	if mtls {
		ca = p.path(tlsutil.CAFile)
	}
	cfg, err := tlsutil.ServerTLS(p.path(tlsutil.CloudCertFile), p.path(tlsutil.CloudKeyFile), ca, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (p pki) client(t testing.TB, withCert bool) *tls.Config {
	t.Helper()
	cert, key := "", ""
	if withCert {
		cert, key = p.path(tlsutil.EdgeCertFile), p.path(tlsutil.EdgeKeyFile)
	}
	cfg, err := tlsutil.ClientTLS("localhost", p.path(tlsutil.CAFile), cert, key, false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// tokenAuth accepts the token "secret".
func tokenAuth(h Hello, _ tls.ConnectionState) (Peer, error) {
	if h.Token != "secret" {
		return Peer{}, errors.New("unknown token")
	}
	return Peer{Tenant: h.Tenant, Site: h.Site, QueueID: h.QueueID}, nil
}

// recorder is a Handler that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	seqs   []uint64
	data   map[uint64][]byte
	peers  []Peer
	failAt map[uint64]error
}

func (r *recorder) handle(_ context.Context, p Peer, seq uint64, _ uint8, data []byte) (Ack, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.failAt[seq]; err != nil {
		return Ack{}, err
	}
	if r.data == nil {
		r.data = map[uint64][]byte{}
	}
	r.seqs = append(r.seqs, seq)
	r.data[seq] = data
	r.peers = append(r.peers, p)
	return Ack{}, nil
}

func (r *recorder) got() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.seqs...)
}

type testServer struct {
	*Server
	reg *prometheus.Registry
}

// startServer runs a server on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, cfg ServerConfig) testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Addr = "127.0.0.1:0"
	cfg.Registerer = reg
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.Auth == nil {
		cfg.Auth = tokenAuth
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("server Run did not return")
		}
	})
	return testServer{s, reg}
}

// waitMetric waits until a metric reaches want.
func (s testServer) waitMetric(t testing.TB, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metrictest.Value(t, s.reg, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dialTest(t testing.TB, s testServer, tlsConf *tls.Config, mod func(*ClientConfig)) (*Conn, error) {
	t.Helper()
	cfg := ClientConfig{
		Addr:   s.Addr().String(),
		TLS:    tlsConf,
		Hello:  Hello{Tenant: "acme", Site: "plant-7", Token: "secret", QueueID: 42},
		Logger: testLogger(t),
	}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// nextAck waits for one Ack.
func nextAck(t testing.TB, c *Conn) (Ack, bool) {
	t.Helper()
	select {
	case a, ok := <-c.Acks():
		return a, ok
	case <-time.After(10 * time.Second):
		t.Fatal("no ack in 10s")
		return Ack{}, false
	}
}
