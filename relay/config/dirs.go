package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDir reports whether the directory path, named by field (e.g.
// "edge.data_dir"), is there or can be made: it, or the nearest of its
// parents that exists, must be a directory. It makes nothing; the roles'
// Check functions use it.
func CheckDir(field, path string) error {
	p := filepath.Clean(path)
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return nil
		case err == nil:
			if p == filepath.Clean(path) {
				return fmt.Errorf("%s %q is not a directory", field, path)
			}
			return fmt.Errorf("%s %q cannot be made: %q is not a directory", field, path, p)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("%s %q: %w", field, path, err)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}
