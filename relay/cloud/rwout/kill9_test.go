package rwout

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// TestKill9NothingQueuedLost: a process queueing blocks for an endpoint
// that is down is killed with SIGKILL; every block whose Deliver had
// returned (the point where the cloud acknowledges its edge) reaches the
// endpoint after a restart, each sample once.
func TestKill9NothingQueuedLost(t *testing.T) {
	if dir := os.Getenv("EDGERELAY_RWOUT_KILL9_DIR"); dir != "" {
		kill9Child(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9NothingQueuedLost$", "-test.v")
	cmd.Env = append(os.Environ(), "EDGERELAY_RWOUT_KILL9_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []int64
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 40 {
		if v, ok := strings.CutPrefix(sc.Text(), "queued "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			acked = append(acked, n)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if len(acked) < 40 {
		t.Fatalf("the child queued only %d blocks", len(acked))
	}
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f, _ := startIn(t, dir, cfg(t, srv.URL, 500), Options{})
	waitEmpty(t, f, 30*time.Second)
	got := s.samples()
	for _, ts := range acked {
		for i := 0; i < 50; i++ {
			k := fmt.Sprintf(`{__name__="fwd_test", i="%d", job="j"}@%d`, i, ts)
			if got[k] != 1 {
				t.Fatalf("%s received %d times after the kill", k, got[k])
			}
		}
	}
	t.Logf("%d queued blocks of 50 samples each arrived once after SIGKILL; %d samples in all", len(acked), len(got))
}

// kill9Child queues blocks for an endpoint that answers 503 until killed,
// printing each block's timestamp once Deliver returned.
func kill9Child(t *testing.T, dir string) {
	s := &sink{answer: func(*prompb.WriteRequest, *http.Request) int { return 503 }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f, _ := startIn(t, dir, cfg(t, srv.URL, 500), Options{})
	for ts := int64(1000); ; ts++ {
		deliver(t, f, batch(50, ts))
		fmt.Printf("queued %d\n", ts)
	}
}
