//go:build unix

package fsutil

import (
	"fmt"
	"os"
	"syscall"
)

// WriteNew creates or truncates path and writes data, without fsync
// (a Barrier makes it durable later): three system calls, where
// os.WriteFile also stats the file and tries it on the network poller.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	fd, err := ignoringEINTR(func() (int, error) {
		return syscall.Open(path, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_CLOEXEC, uint32(perm.Perm()))
	})
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	for len(data) > 0 {
		n, err := ignoringEINTR(func() (int, error) { return syscall.Write(fd, data) })
		if err != nil {
			syscall.Close(fd)
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		data = data[n:]
	}
	if err := syscall.Close(fd); err != nil {
		return fmt.Errorf("close %q: %w", path, err)
	}
	return nil
}

// Rename is rename(2): unlike os.Rename it does not look at newpath first
// (os.Rename refuses an existing directory there; rename(2) replaces an
// empty one and refuses another with ENOTEMPTY or EEXIST).
func Rename(oldpath, newpath string) error {
	if _, err := ignoringEINTR(func() (int, error) { return 0, syscall.Rename(oldpath, newpath) }); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// ignoringEINTR calls fn until it fails otherwise than with EINTR.
func ignoringEINTR(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
