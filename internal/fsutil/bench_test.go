package fsutil

import (
	"path/filepath"
	"testing"
)

// BenchmarkWriteFile measures what the cloud pays per block for its
// deduplication watermark (a file of a few hundred bytes replaced whole):
// with the directory fsync WriteFile promises, and without it, as the
// watermark was written before WriteFile was its one helper.
func BenchmarkWriteFile(b *testing.B) {
	data := make([]byte, 256)
	for _, bc := range []struct {
		name    string
		syncDir func(string) error
	}{
		{"with-dir-fsync", SyncDir},
		{"without-dir-fsync", func(string) error { return nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			old := syncDir
			syncDir = bc.syncDir
			defer func() { syncDir = old }()
			path := filepath.Join(b.TempDir(), "watermarks")
			for b.Loop() {
				if err := WriteFile(path, data, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
