package files

import (
	"path/filepath"
	"testing"
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
