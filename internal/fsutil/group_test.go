package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestBarrierSharesOneBarrier holds the first barrier while more writers
// arrive: all of them are answered by the one barrier that follows.
func TestBarrierSharesOneBarrier(t *testing.T) {
	b, err := NewBarrier(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var ran []int
	var mu sync.Mutex
	b.do = func(r *round) error {
		mu.Lock()
		ran = append(ran, len(ran))
		first := len(ran) == 1
		mu.Unlock()
		if first {
			<-release
		}
		return nil
	}
	const writers = 20
	errs := make(chan error, writers+1)
	go func() { errs <- b.Sync() }()
	for { // until the first barrier is held
		mu.Lock()
		started := len(ran) > 0
		mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for range writers {
		go func() { errs <- b.Sync() }()
	}
	for {
		if _, w := b.Stats(); w == writers+1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range writers + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if rounds, w := b.Stats(); rounds != 2 || w != writers+1 {
		t.Fatalf("%d barriers for %d writers, want 2 (the one held, then one for the %d that came meanwhile)", rounds, w, writers)
	}
}

// TestBarrierErrorReachesEveryWriter: a failed barrier fails every
// writer it covered, and the next one starts afresh.
func TestBarrierErrorReachesEveryWriter(t *testing.T) {
	b, err := NewBarrier(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk gone")
	fail := true
	b.do = func(*round) error {
		if fail {
			return boom
		}
		return nil
	}
	if err := b.Sync(); !errors.Is(err, boom) {
		t.Fatalf("Sync = %v, want %v", err, boom)
	}
	fail = false
	if err := b.Sync(); err != nil {
		t.Fatalf("Sync after a failed barrier = %v", err)
	}
}

// TestBarrierBothKinds writes files from many goroutines and syncs them,
// with syncfs where the kernel has it and with an fsync of each path, and
// a path removed before its barrier.
func TestBarrierBothKinds(t *testing.T) {
	for _, perPath := range []bool{false, true} {
		t.Run("perPath="+strconv.FormatBool(perPath), func(t *testing.T) {
			if !perPath && !syncfsWorks() {
				t.Skip("no syncfs here")
			}
			old := syncfsWorks
			syncfsWorks = func() bool { return !perPath }
			defer func() { syncfsWorks = old }()
			dir := t.TempDir()
			b, err := NewBarrier(dir, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if b.Syncfs() == perPath {
				t.Fatalf("Syncfs() = %v with perPath %v", b.Syncfs(), perPath)
			}
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := filepath.Join(dir, strconv.Itoa(i))
					if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
						t.Error(err)
						return
					}
					gone := p + ".gone"
					if i%4 == 0 {
						os.WriteFile(gone, nil, 0o644)
						os.Remove(gone)
					}
					if err := b.Sync(p, dir, gone); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if rounds, w := b.Stats(); rounds == 0 || rounds > w || w != 16 {
				t.Fatalf("%d barriers for %d writers", rounds, w)
			}
		})
	}
}

func TestBarrierForSharesPerFilesystem(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	ba, err := BarrierFor(a, 0)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := BarrierFor(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ba != bb {
		t.Fatal("two directories of one filesystem got two barriers")
	}
	if _, err := BarrierFor(filepath.Join(root, "missing"), 0); err == nil {
		t.Fatal("BarrierFor of a missing directory: no error")
	}
}

// TestWriteFileShared replaces a file whole, its temporary file and then
// its directory made durable by the barrier; a failed rename leaves the
// old content and no temporary file.
func TestWriteFileShared(t *testing.T) {
	dir := t.TempDir()
	b, err := NewBarrier(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var synced [][]string
	b.fd = nil // fsync each path, so the test sees which
	inner := b.barrier
	b.do = func(r *round) error {
		var ps []string
		for p := range r.paths {
			ps = append(ps, p)
		}
		synced = append(synced, ps)
		return inner(r)
	}
	p := filepath.Join(dir, "marks.json")
	for _, content := range []string{"a much longer first content", "short"} {
		if err := WriteFileShared(b, p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := read(t, p); got != content {
			t.Fatalf("got %q, want %q", got, content)
		}
		noTemp(t, dir)
	}
	if len(synced) != 4 || synced[0][0] != p+TempSuffix || synced[1][0] != dir {
		t.Fatalf("barriers synced %v, want the temporary file, then the directory, per write", synced)
	}
	old := rename
	rename = func(string, string) error { return errors.New("rename refused") }
	defer func() { rename = old }()
	if err := WriteFileShared(b, p, []byte("lost"), 0o644); err == nil {
		t.Fatal("no error from a failed rename")
	}
	if got := read(t, p); got != "short" {
		t.Fatalf("after a failed rename: %q", got)
	}
	noTemp(t, dir)
}

// TestBarrierWindowOnlyWhenShared: a lone writer syncing again and again
// never waits the window; once a barrier was shared by several writers,
// the next one waits it for more.
func TestBarrierWindowOnlyWhenShared(t *testing.T) {
	b, err := NewBarrier(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits int
	release := make(chan struct{})
	b.sleep = func(time.Duration) {
		mu.Lock()
		waits++
		mu.Unlock()
		<-release
	}
	for range 5 {
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if waits != 0 {
		t.Fatalf("a lone writer waited the window %d times", waits)
	}
	// Hold a barrier while three writers gather, then sync again: the
	// barrier after the shared one waits the window.
	hold := make(chan struct{})
	b.do = func(r *round) error {
		if r.writers == 1 {
			<-hold
		}
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- b.Sync() }()
	for _, w := b.Stats(); w < 6; _, w = b.Stats() {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := b.Sync(); err != nil {
				t.Error(err)
			}
		})
	}
	for _, w := b.Stats(); w < 9; _, w = b.Stats() {
		time.Sleep(time.Millisecond)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait() // the shared round of three ran
	next := make(chan error, 1)
	go func() { next <- b.Sync() }()
	for {
		mu.Lock()
		n := waits
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-next; err != nil {
		t.Fatal(err)
	}
}
