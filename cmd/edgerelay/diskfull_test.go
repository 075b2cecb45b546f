package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDiskFullAnswers503AndRecovers puts the edge's queue on a small tmpfs,
// fills it, and checks that remote_write is refused with 503 (so senders
// retry) instead of being acknowledged, that the edge stays up, and that it
// accepts again once space returns. It needs root to mount the tmpfs.
func TestDiskFullAnswers503AndRecovers(t *testing.T) {
	env := newEnv(t)
	dataDir := filepath.Join(env.dir, "edge")
	os.MkdirAll(dataDir, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", dataDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dataDir).Run() })
	// remote_write only: no scrapes filling the disk behind the test's back.
	os.WriteFile(env.edgeConfig, fmt.Appendf(nil, `
edge:
  tenant: acme
  site: plant-7
  data_dir: %s
  http_listen: %s
  queue: {min_free_bytes: 32MiB}
  upstream: {address: %q, server_name: localhost, insecure_skip_verify: true, max_backoff: 1s}
`, dataDir, env.edgeHTTP, env.quic), 0o644)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
	url := "http://" + env.edgeHTTP + "/api/v1/write"
	if code := rwStatus(t, url, 0); code != 204 {
		t.Fatalf("before the disk filled: %d", code)
	}

	// Fill the filesystem.
	filler := filepath.Join(dataDir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	var st syscall.Statfs_t
	syscall.Statfs(dataDir, &st)
	t.Logf("filesystem full: %d bytes free", st.Bavail*uint64(st.Bsize))

	refused := 0
	for i := 1; i <= 40; i++ {
		switch code := rwStatus(t, url, i); code {
		case 503:
			refused++
		case 204:
			// Space Badger had already claimed can take a little more.
		default:
			t.Fatalf("request %d on a full disk answered %d, want 503 or 204", i, code)
		}
	}
	if refused == 0 {
		t.Fatal("no request was refused on a full disk")
	}
	if c, _ := httpGet("http://" + env.edgeHTTP + "/-/healthy"); c != 200 {
		t.Fatalf("edge not healthy on a full disk: %d", c)
	}

	// Space returns: the edge takes data again.
	os.Remove(filler)
	waitFor(t, "remote_write accepted after space returned", 30*time.Second, func() bool { return rwStatus(t, url, 1000) == 204 })
	t.Logf("%d of 40 requests refused with 503 while full; accepted again after space returned", refused)
	edge.stop(t)
}

// rwStatus sends one numbered remote_write request and returns the status.
func rwStatus(t *testing.T, url string, k int) int {
	t.Helper()
	err := chaosSend(t.Context(), url, k)
	if err == nil {
		return 204
	}
	var code int
	if _, scanErr := fmt.Sscanf(err.Error(), "status %d", &code); scanErr != nil {
		t.Fatalf("request %d: %v", k, err)
	}
	return code
}
