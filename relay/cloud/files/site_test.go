package files

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
)

// TestSitesKeptApart writes the same target's scrape from two sites and
// from a batch without site: three target directories, each with its own
// data and its own latest link.
func TestSitesKeptApart(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	for i, site := range []string{"plant-7", "plant-9", ""} {
		if err := w.Write("acme", site, scrapeBatch(1000+int64(i), float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i, site := range []string{"plant-7", "plant-9", DefaultSite} {
		target := filepath.Join(root, "acme", site, "10.0.0.1_9100.node")
		ts := 1000 + int64(i)
		ents, err := os.ReadDir(target)
		if err != nil || len(ents) != 2 { // one scrape directory and latest
			t.Fatalf("%s: %v %v", target, ents, err)
		}
		dir := filepath.Join(target, strconv.FormatInt(ts*1000, 10))
		equal(t, readScrape(t, dir).samples(t), want(scrapeBatch(ts, float64(i))))
		if link, _ := os.Readlink(filepath.Join(target, latestName)); link != filepath.Base(dir) {
			t.Fatalf("%s: latest -> %q, want %q", target, link, filepath.Base(dir))
		}
	}
	if got := siteDir("../x"); got != "___x" {
		t.Fatalf("siteDir(../x) = %q: the site is not sanitised like the other components", got)
	}
}

// TestSweepOldLayout sweeps a files directory holding target directories
// of the layout before the site level beside those of the new one: old
// scrapes go from both, fresh ones stay, and a target of either layout
// whose scrapes are all gone disappears with its link.
func TestSweepOldLayout(t *testing.T) {
	root := t.TempDir()
	w, reg := newWriter(t, root)
	now := time.Now()
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }

	// Written in today's layout, then moved up one level for the old one.
	write := func(site string, ts int64) string {
		if err := w.Write("acme", site, scrapeBatch(ts, 1)); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(root, "acme", site, "10.0.0.1_9100.node", strconv.FormatInt(ts*1000, 10))
	}
	oldOld := write("old", ms(30*time.Hour))
	oldFresh := write("old", ms(time.Hour))
	goneOld := write("gone", ms(30*time.Hour))
	if err := os.Rename(filepath.Join(root, "acme", "old", "10.0.0.1_9100.node"), filepath.Join(root, "acme", "10.0.0.1_9100.node")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "acme", "gone", "10.0.0.1_9100.node"), filepath.Join(root, "acme", "10.0.0.2_9100.node")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "acme", "old"))
	os.Remove(filepath.Join(root, "acme", "gone"))
	legacy := filepath.Join(root, "acme", "10.0.0.1_9100.node")
	oldOld = filepath.Join(legacy, filepath.Base(oldOld))
	oldFresh = filepath.Join(legacy, filepath.Base(oldFresh))
	goneOld = filepath.Join(root, "acme", "10.0.0.2_9100.node", filepath.Base(goneOld))
	exists(t, oldOld, true)
	exists(t, goneOld, true)

	newOld := write("plant-7", ms(30*time.Hour))
	newFresh := write("plant-7", ms(time.Hour))
	newGone := write("plant-9", ms(30*time.Hour))
	// Sites whose names look like what a target directory holds.
	oddOld, oddFresh := write("latest", ms(30*time.Hour)), write("1234", ms(time.Hour))

	if n := w.Sweep(now); n != 5 {
		t.Fatalf("Sweep removed %d scrape directories, want 5", n)
	}
	exists(t, oddOld, false)
	exists(t, oddFresh, true)
	exists(t, oldOld, false)
	exists(t, oldFresh, true)
	exists(t, filepath.Dir(goneOld), false)
	exists(t, newOld, false)
	exists(t, newFresh, true)
	exists(t, filepath.Dir(newGone), false)
	exists(t, filepath.Join(root, "acme", "plant-9"), true) // site directories stay
	if link, _ := os.Readlink(filepath.Join(legacy, latestName)); link != filepath.Base(oldFresh) {
		t.Fatalf("old layout: latest -> %q, want %q", link, filepath.Base(oldFresh))
	}
	if n := metrictest.Value(t, reg, "edgerelay_files_removed_total"); n != 5 {
		t.Fatalf("removed_total = %v, want 5", n)
	}
}
