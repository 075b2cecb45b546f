package upstreams

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const kill9Env = "EDGERELAY_UPSTREAMS_KILL9_DIR"

// TestKill9Helper is not a test: run as a child by TestCursorsSurviveKill9,
// it appends blocks and acknowledges them for two upstreams at different
// paces, printing "a N" / "b N" once each AckThrough returned, until killed.
func TestKill9Helper(t *testing.T) {
	dir := os.Getenv(kill9Env)
	if dir == "" {
		t.Skip("helper process for TestCursorsSurviveKill9")
	}
	q := openQueue(t, dir)
	s, err := New(q, []Upstream{{Name: "a"}, {Name: "b"}}, false, nil, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	a, b := s.Views()[0], s.Views()[1]
	for i := uint64(1); ; i++ {
		seq := appendGroup(t, q, i/16+1, 1, 512)[0]
		if err := a.AckThrough(seq); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("a %d\n", seq)
		if seq%3 == 0 && seq > 10 {
			if err := b.AckThrough(seq - 10); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			fmt.Printf("b %d\n", seq-10)
		}
	}
}

func TestCursorsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Helper$", "-test.count=1")
	cmd.Env = append(os.Environ(), kill9Env+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	last := map[string]uint64{}
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(2 * time.Minute)
	for sc.Scan() {
		name, n, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseUint(n, 10, 64)
		last[name] = v
		if last["b"] > 60 || time.Now().After(deadline) {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	// What the child printed after the kill was sent was also acknowledged.
	for sc.Scan() {
		if name, n, ok := strings.Cut(sc.Text(), " "); ok {
			v, _ := strconv.ParseUint(n, 10, 64)
			last[name] = max(last[name], v)
		}
	}
	_ = cmd.Wait()
	if last["b"] == 0 {
		t.Fatal("the helper acknowledged nothing for b before the deadline")
	}

	q := openQueue(t, dir)
	defer q.Close()
	s, err := New(q, []Upstream{{Name: "a"}, {Name: "b"}}, false, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.Views()[0], s.Views()[1]
	if a.Acked() < last["a"] || b.Acked() < last["b"] {
		t.Fatalf("after kill -9: a through %d, b through %d; the helper had them acknowledged through %d and %d",
			a.Acked(), b.Acked(), last["a"], last["b"])
	}
	// Every block b has not acknowledged is still queued for it.
	got, err := b.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	next := q.Stats().NextSeq
	if want := next - 1 - b.Acked(); uint64(len(got)) != want {
		t.Fatalf("b reads %d blocks after its cursor %d, want %d (through %d)", len(got), b.Acked(), want, next-1)
	}
	for i, blk := range got {
		if blk.Seq != b.Acked()+1+uint64(i) {
			t.Fatalf("b's backlog has a gap at %d", blk.Seq)
		}
	}
}
