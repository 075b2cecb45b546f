package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/config"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestChainWatchesModules replaces a chain's module file and waits for the
// chain to report it, then loads a new chain from the changed file, as a
// reload does.
func TestChainWatchesModules(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plugin.wasm")
	copyFile(t, "testdata/passthrough.wasm", p)
	changed := make(chan []string, 4)
	pcs := []config.PluginConfig{stageConf(t, "p", p, "")}
	log := slog.New(slog.NewTextHandler(testLogOut, nil))
	o := Options{Logger: log, ModulePoll: 10 * time.Millisecond, OnModuleChange: func(paths []string) { changed <- paths }}
	c, err := NewChain(context.Background(), pcs, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if got := c.ModulePaths(); !slices.Equal(got, []string{p}) {
		t.Fatalf("ModulePaths = %q; want [%q]", got, p)
	}
	select {
	case got := <-changed:
		t.Fatalf("reported %q before any change", got)
	case <-time.After(100 * time.Millisecond):
	}
	// Replace it the way a deploy does: write elsewhere, rename over.
	tmp := filepath.Join(dir, "plugin.wasm.tmp")
	copyFile(t, "testdata/trap.wasm", tmp)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-changed:
		if !slices.Equal(got, []string{p}) {
			t.Fatalf("reported %q; want [%q]", got, p)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the changed module file was not reported")
	}
	// What the reload would build: the new module is the trapping one.
	next, err := NewChain(context.Background(), pcs, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close(context.Background())
	if err := next.Process(context.Background(), batchOf(labels.FromStrings("__name__", "up"))); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(next.m.errors.WithLabelValues("p", "trap")); got != 1 {
		t.Errorf("the reloaded chain does not run the new module: trap errors = %v", got)
	}
	if err := c.Close(context.Background()); err != nil { // stops the watcher and waits for it
		t.Fatal(err)
	}
}

// TestWatchModules drives the watcher with a fake clock: a change is
// reported once it is stable, once only, and a missing file is not a change.
func TestWatchModules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "m.wasm")
		write := func(s string) {
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("one")
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var reports [][]string
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			watchModules(ctx, []moduleFile{{p, info}}, time.Second, func(paths []string) {
				mu.Lock()
				reports = append(reports, paths)
				mu.Unlock()
			})
		}()
		defer func() { cancel(); <-done }()
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(reports) }
		// The test acts half-way between polls (every second from 0).
		time.Sleep(5500 * time.Millisecond)
		if n := count(); n != 0 {
			t.Fatalf("%d reports of an unchanged file", n)
		}
		write("two, longer")
		time.Sleep(time.Second) // seen once: not stable yet
		if n := count(); n != 0 {
			t.Fatalf("reported after one poll: %d", n)
		}
		time.Sleep(time.Second) // seen twice the same: stable
		if n := count(); n != 1 {
			t.Fatalf("%d reports after a stable change; want 1", n)
		}
		time.Sleep(10 * time.Second) // a failed reload leaves the chain: no repeat
		if n := count(); n != 1 {
			t.Fatalf("%d reports of the same change; want 1", n)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if n := count(); n != 1 {
			t.Fatalf("a missing file was reported: %d reports", n)
		}
		write("three, longer still")
		time.Sleep(5 * time.Second)
		if n := count(); n != 2 {
			t.Fatalf("%d reports after the file came back changed; want 2", n)
		}
	})
}
