// Package etcdtest runs a real etcd (Debian's etcd-server package) on
// free loopback ports for tests, so that every test of group membership
// starts, stops and restarts it the same way.
//
// A Server belongs to one test; its methods are safe for concurrent use.
package etcdtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Server is one etcd process.
type Server struct {
	// Endpoint is its client URL, http://127.0.0.1:PORT.
	Endpoint string

	mu   sync.Mutex
	logs bytes.Buffer
	cmd  *exec.Cmd // nil while stopped
	bin  string
	args []string
}

func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

// Start runs etcd with its data in a temporary directory and returns once
// it answers /health. The test is skipped when etcd is not installed.
// etcd is killed when the test ends, and its log printed if the test
// failed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed (Debian package etcd-server)")
	}
	client, peer := freeAddr(t), freeAddr(t)
	s := &Server{Endpoint: "http://" + client, bin: bin}
	s.args = []string{"--name", "test", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", s.Endpoint, "--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", "http://" + peer, "--initial-advertise-peer-urls", "http://" + peer,
		"--initial-cluster", "test=http://" + peer, "--log-level", "warn"}
	s.Restart(t)
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			s.mu.Lock()
			t.Logf("etcd log:\n%s", s.logs.String())
			s.mu.Unlock()
		}
	})
	return s
}

// Kill stops etcd with SIGKILL and waits for it; its data stays for
// Restart.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// Restart starts etcd again (after Kill) on the same ports and data, and
// waits until it is healthy.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd at %s not healthy within 60s: %v", s.Endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
