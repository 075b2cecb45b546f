//go:build !unix

package fsutil

import "os"

// WriteNew creates or truncates path and writes data, without fsync.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	return os.WriteFile(path, data, perm)
}

// Rename is os.Rename.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
