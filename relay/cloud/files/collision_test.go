package files

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/edgerelay/edgerelay/internal/metrictest"
)

func TestCollision(t *testing.T) {
	root := t.TempDir()
	w, reg := newWriter(t, root)
	target := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node")
	first := scrapeBatch(1000, 1)
	for range 2 { // the same batch twice: a resend
		if err := w.Write("acme", "plant-7", first); err != nil {
			t.Fatal(err)
		}
	}
	if n := metrictest.Value(t, reg, "edgerelay_files_duplicates_total"); n != 1 {
		t.Fatalf("duplicates_total = %v, want 1", n)
	}
	second := scrapeBatch(1000, 2) // same µs, other content
	if err := w.Write("acme", "plant-7", second); err != nil {
		t.Fatal(err)
	}
	equal(t, readScrape(t, filepath.Join(target, "1000000")).samples(t), want(first))
	equal(t, readScrape(t, filepath.Join(target, "1000001")).samples(t), want(second))
	if link, _ := os.Readlink(filepath.Join(target, "latest")); link != "1000001" {
		t.Fatalf("latest -> %q, want 1000001", link)
	}
	older := scrapeBatch(500, 3) // arriving late must not move latest back
	if err := w.Write("acme", "plant-7", older); err != nil {
		t.Fatal(err)
	}
	if link, _ := os.Readlink(filepath.Join(target, "latest")); link != "1000001" {
		t.Fatalf("latest -> %q after an older scrape, want 1000001", link)
	}
	ents, _ := os.ReadDir(target)
	if len(ents) != 4 { // 500000, 1000000, 1000001, latest
		t.Fatalf("target dir has %d entries, want 4", len(ents))
	}
}

// TestConcurrentWrites writes one target from several goroutines, some
// batches at the same µs: every distinct batch gets its own directory and
// latest ends at the newest.
func TestConcurrentWrites(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				// Goroutines 0 and 1 write identical batches (duplicates),
				// 2 and 3 different values at the same timestamps.
				if err := w.Write("acme", "plant-7", scrapeBatch(int64(1000+i), float64(g/2*10+g%2*(g/2)))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	target := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node")
	ents, err := os.ReadDir(target)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3*10+1 { // 3 distinct contents per timestamp, and latest
		t.Fatalf("%d entries, want 31", len(ents))
	}
	link, _ := os.Readlink(filepath.Join(target, latestName))
	if link != "1009002" {
		t.Fatalf("latest -> %q, want 1009002", link)
	}
}

// TestDuplicateAtOtherLevel: a resent scrape whose directory was written
// with other compressed bytes (another gzip level, as before an upgrade)
// is still a duplicate, not a second directory.
func TestDuplicateAtOtherLevel(t *testing.T) {
	root := t.TempDir()
	w, reg := newWriter(t, root)
	b := scrapeBatch(1000, 1)
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node", "1000000", "1000000.data.gz")
	plain := gunzipFile(t, data)
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	gz.Write(plain)
	gz.Close()
	if err := os.WriteFile(data, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	if n := metrictest.Value(t, reg, "edgerelay_files_duplicates_total"); n != 1 {
		t.Fatalf("duplicates_total = %v, want 1", n)
	}
	if dirs, _ := filepath.Glob(filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node", "100000*")); len(dirs) != 1 {
		t.Fatalf("directories %v, want one", dirs)
	}
}

// TestTargetRemovedBehindWriter: the writer remembers a target directory
// and its "latest" link between scrapes; one removed by someone else (or
// by retention, all its scrapes old) is made again at the next scrape,
// with its link, and a new writer on the same root finds the link as it
// was left.
func TestTargetRemovedBehindWriter(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	site := filepath.Join(root, "acme", "plant-7")
	target := filepath.Join(site, "10.0.0.1_9100.node")
	latest := func() string { l, _ := os.Readlink(filepath.Join(target, "latest")); return l }
	if err := w.Write("acme", "plant-7", scrapeBatch(1000, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(site); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("acme", "plant-7", scrapeBatch(2000, 2)); err != nil {
		t.Fatalf("after the site directory was removed: %v", err)
	}
	equal(t, readScrape(t, filepath.Join(target, "2000000")).samples(t), want(scrapeBatch(2000, 2)))
	if l := latest(); l != "2000000" {
		t.Fatalf("latest -> %q, want 2000000", l)
	}
	w.Sweep(time.UnixMicro(2000000).Add(w.retention + time.Second)) // every scrape old: the target goes
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("target not removed by retention: %v", err)
	}
	if err := w.Write("acme", "plant-7", scrapeBatch(1500, 3)); err != nil {
		t.Fatal(err)
	}
	if l := latest(); l != "1500000" {
		t.Fatalf("latest -> %q after retention removed the target, want 1500000", l)
	}
	w2, _ := newWriter(t, root)
	if err := w2.Write("acme", "plant-7", scrapeBatch(1200, 4)); err != nil {
		t.Fatal(err)
	}
	if l := latest(); l != "1500000" {
		t.Fatalf("a new writer moved latest back to %q, want 1500000", l)
	}
}
