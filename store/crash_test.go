package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "EDGERELAY_STORE_CRASH_DIR"

// crashRecord is record i as the crash helper appends it.
func crashRecord(i int) Record {
	return rec(i, 1000+(i*7919)%70000)
}

// TestCrashHelper is not a test: run as a child process by TestKill9, it
// appends numbered records from four goroutines and prints "seq i" for each
// Append that returned, until it is killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	q, err := Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; i < 1_000_000; i += 4 {
				seq, err := q.Append(crashRecord(i))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Printf("%d %d\n", seq, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	for round := range 2 { // the second round kills a queue that already has a backlog
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[uint64]int{}
		sc := bufio.NewScanner(out)
		killAt := 150 + round*100
		deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
		for sc.Scan() {
			var seq uint64
			var i int
			if _, err := fmt.Sscanf(sc.Text(), "%d %d", &seq, &i); err != nil {
				continue // a line cut short by the kill
			}
			acked[seq] = i
			if len(acked) == killAt {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		deadline.Stop()
		_ = cmd.Wait()
		if len(acked) < killAt {
			t.Fatalf("round %d: helper printed %d seqs before exiting: %s", round, len(acked), stderr.String())
		}

		q := openQueue(t, dir, Options{})
		bs := mustRead(t, q, 0, 0, 0)
		got := map[uint64]Block{}
		for i, b := range bs {
			if i > 0 && b.Seq <= bs[i-1].Seq {
				t.Fatalf("seq %d after %d", b.Seq, bs[i-1].Seq)
			}
			got[b.Seq] = b
		}
		for seq, i := range acked {
			b, ok := got[seq]
			if !ok {
				t.Fatalf("round %d: seq %d (record %d) was acknowledged but is lost", round, seq, i)
			}
			checkBlock(t, b, crashRecord(i))
		}
		st := q.Stats()
		if st.Corrupt != 0 || st.Blocks != len(bs) {
			t.Fatalf("stats %+v, read %d blocks", st, len(bs))
		}
		t.Logf("round %d: %d appends acknowledged, %d blocks after restart, next seq %d", round, len(acked), len(bs), st.NextSeq)
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenAfterKillAtNewMemtable: a kill right after Badger created its
// next memtable file, before writing to it, leaves that file empty; the
// queue still opens, with every block it held.
func TestOpenAfterKillAtNewMemtable(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	for i := range 3 {
		if _, err := q.Append(rec(i, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	fid := len(mems) + 1
	for _, m := range mems {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(m), "%05d.mem", &n); err == nil && n >= fid {
			fid = n + 1
		}
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.mem", fid)), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatalf("open after an empty memtable file was left: %v", err)
	}
	defer q.Close()
	bs := mustRead(t, q, 0, 0, 0)
	if len(bs) != 3 {
		t.Fatalf("read %d blocks, want 3", len(bs))
	}
	for i, b := range bs {
		checkBlock(t, b, rec(i, 100))
	}
}
