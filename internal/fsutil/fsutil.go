// Package fsutil is how edgerelay makes a file durable. WriteFile and Write
// replace a file whole: the content goes to a temporary file next to it
// (the path plus ".tmp"), which is fsynced, closed, renamed over the path,
// and then the directory is fsynced, so after a crash the path holds either
// the old content or the new, never part of either, and a successful return
// means the new content survives a power loss. On error the temporary file
// is removed and the path is untouched.
//
// Files that become visible together, through the rename of the directory
// holding them, are written with WriteSynced and made durable in their
// directory with SyncDir.
//
// Where many writers need their files durable at the same moment (the
// cloud, for every site's blocks), a Barrier (group.go) makes them durable
// together: one syncfs of the filesystem, or one fsync of each path, for
// all of them; WriteFileShared is WriteFile with its syncs done so.
//
// The functions are safe for concurrent use on different paths; writers of
// the same path must be serialised by the caller (they share one temporary
// file name, which also means a temporary file a crash left behind is
// replaced by the next write).
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// TempSuffix is appended to a path to name the temporary file WriteFile and
// Write fill before renaming it over the path.
const TempSuffix = ".tmp"

// WriteFile replaces path with data atomically and durably; a new file gets
// perm (before the umask).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write is WriteFile with the content written by fill, for content that is
// streamed rather than held in memory. fill's error is returned wrapped.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return replace(path, perm, fill, nil)
}

// replace fills the temporary file, makes it durable, renames it over path
// and makes the rename durable: by fsyncs, or by barrier b when not nil.
func replace(path string, perm os.FileMode, fill func(io.Writer) error, b *Barrier) (err error) {
	tmp := path + TempSuffix
	// A temporary file left by a crash may have another mode; start afresh.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %q: %w", tmp, err)
	}
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("create %q: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("write %q: %w", tmp, err)
	}
	if b == nil {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync %q: %w", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", tmp, err)
	}
	if b != nil {
		if err := b.Sync(tmp); err != nil {
			return err
		}
	}
	if err := rename(tmp, path); err != nil {
		return fmt.Errorf("rename %q to %q: %w", tmp, path, err)
	}
	if b != nil {
		return b.Sync(filepath.Dir(path))
	}
	return syncDir(filepath.Dir(path))
}

// rename and syncDir are os.Rename and SyncDir; tests replace them to fail
// a step or to see which directory was synced.
var (
	rename  = os.Rename
	syncDir = SyncDir
)

// WriteSynced creates or truncates path, writes data and fsyncs it. It is
// not atomic: use it only for files in a directory nobody reads yet, which
// is then synced with SyncDir and renamed into place.
func WriteSynced(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs directory dir, so that the entries created, renamed or
// removed in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %q: %w", dir, err)
	}
	return nil
}
