//go:build unix

package store

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// diskUsage returns the bytes allocated on disk to the files under dir
// (Badger's log files are sparse, so their length overstates it).
func diskUsage(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += int64(st.Blocks) * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	return n
}
