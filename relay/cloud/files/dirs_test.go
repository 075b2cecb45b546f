package files

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteDirsNamesWhereItWent: WriteDirs returns the directory a scrape
// went to, bumped past a collision, and says whether it is new.
func TestWriteDirsNamesWhereItWent(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	target := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node")
	for _, tc := range []struct {
		value float64
		dir   string
		new   bool
	}{{1, "1000000", true}, {1, "1000000", false}, {2, "1000001", true}, {2, "1000001", false}} {
		dirs, err := w.WriteDirs("acme", "plant-7", scrapeBatch(1000, tc.value))
		if err != nil {
			t.Fatal(err)
		}
		d := dirs[0]
		if len(dirs) != 1 || d.Path != filepath.Join(target, tc.dir) || d.New != tc.new || d.Job != "node" || d.Instance != "10.0.0.1:9100" ||
			d.Timestamp != 1000 || len(d.Files) != 2 || d.Files[0] != tc.dir+".data.gz" {
			t.Fatalf("value %v: %+v, want %s (new %v)", tc.value, dirs, tc.dir, tc.new)
		}
	}
}

// TestStagedDirectoryWaitsForItsBarrier: a scrape directory written under
// its temporary name is not in place before its barrier, retention leaves
// it alone meanwhile (its barrier runs without the target's lock), and
// publishing puts it in place whole, with "latest" pointing at it.
func TestStagedDirectoryWaitsForItsBarrier(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	if err := w.Write("acme", "plant-7", scrapeBatch(1000, 1)); err != nil {
		t.Fatal(err)
	}
	g := split(scrapeBatch(2000, 2))[0]
	st, err := w.stageGroup("acme", "plant-7", g)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node")
	if _, err := os.Stat(filepath.Join(target, "2000000")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("staged directory in place before its barrier: %v", err)
	}
	// Everything old enough to go, the staged directory included were it
	// a leftover.
	if n := w.Sweep(time.UnixMilli(3000).Add(w.retention)); n != 1 {
		t.Fatalf("swept %d scrape directories, want 1", n)
	}
	if _, err := os.Stat(st.tmp); err != nil {
		t.Fatalf("retention removed a staged directory: %v", err)
	}
	d, err := w.publishGroup("acme", "plant-7", st)
	if err != nil {
		t.Fatal(err)
	}
	w.unstage(st)
	if d.Path != filepath.Join(target, "2000000") || !d.New {
		t.Fatalf("published %+v", d)
	}
	equal(t, readScrape(t, d.Path).samples(t), want(scrapeBatch(2000, 2)))
	if link, _ := os.Readlink(filepath.Join(target, "latest")); link != "2000000" {
		t.Fatalf("latest -> %q, want 2000000", link)
	}
	// A leftover of an interrupted write goes.
	left := filepath.Join(target, tmpPrefix+"1-1")
	os.Mkdir(left, 0o755)
	w.Sweep(time.UnixMilli(2000))
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("leftover temporary directory kept: %v", err)
	}
}
