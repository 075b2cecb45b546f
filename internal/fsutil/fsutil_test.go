package fsutil

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTemp fails when a temporary file is left in dir.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, "*"+TempSuffix))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestWriteFileCreatesAndReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteFile(p, []byte("a much longer first content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "a much longer first content" {
		t.Fatalf("got %q", got)
	}
	if err := WriteFile(p, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "short" {
		t.Fatalf("replaced file holds %q, want exactly %q", got, "short")
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	noTemp(t, dir)
}

func TestWriteNeverShowsPartialContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bundle")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(p, 0o644, func(w io.Writer) error {
		if _, err := w.Write([]byte("new first half, ")); err != nil {
			return err
		}
		if got := read(t, p); got != "old" {
			t.Errorf("while writing, the path holds %q, want the old content", got)
		}
		_, err := w.Write([]byte("second half"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new first half, second half" {
		t.Fatalf("got %q", got)
	}
	noTemp(t, dir)
}

func TestWriteErrorKeepsOldFileAndRemovesTemp(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		fill   func(io.Writer) error
		rename func(string, string) error
	}{
		{"fill fails", func(w io.Writer) error {
			w.Write([]byte("partial"))
			return boom
		}, os.Rename},
		{"rename fails", func(w io.Writer) error {
			_, err := w.Write([]byte("complete"))
			return err
		}, func(string, string) error { return boom }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rename = tc.rename
			defer func() { rename = os.Rename }()
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Write(p, 0o644, tc.fill)
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want it to wrap %v", err, boom)
			}
			if got := read(t, p); got != "old" {
				t.Fatalf("after a failed write the path holds %q, want the old content", got)
			}
			noTemp(t, dir)
		})
	}
}

func TestWriteReplacesLeftoverTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.pem")
	// A crash left a world-readable temporary file with other content.
	if err := os.WriteFile(p+TempSuffix, []byte("leftover leftover"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "secret" {
		t.Fatalf("got %q", got)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 (not the leftover's)", fi.Mode().Perm())
	}
	noTemp(t, dir)
}

func TestWriteSyncsTheDirectory(t *testing.T) {
	var synced []string
	syncDir = func(dir string) error {
		synced = append(synced, dir)
		return SyncDir(dir)
	}
	defer func() { syncDir = SyncDir }()
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("synced directories %q, want [%q]", synced, dir)
	}
}

func TestWriteFileMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "absent", "f")
	if err := WriteFile(p, []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}

func TestWriteSyncedAndSyncDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "1.json")
	if err := WriteSynced(p, []byte("longer content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSynced(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "{}" {
		t.Fatalf("got %q", got)
	}
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory: %v", err)
	}
}

// TestWriteNewAndRename: WriteNew creates and truncates; Rename moves a
// directory into place and refuses a name holding a non-empty one.
func TestWriteNewAndRename(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, c := range []string{"a much longer first content", "short"} {
		if err := WriteNew(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := read(t, p); got != c {
			t.Fatalf("got %q, want %q", got, c)
		}
	}
	if err := WriteNew(filepath.Join(dir, "missing", "f"), nil, 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WriteNew in a missing directory: %v", err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		os.Mkdir(d, 0o755)
		WriteNew(filepath.Join(d, "x"), []byte(d), 0o644)
	}
	if err := Rename(a, b); !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("Rename onto a non-empty directory: %v", err)
	}
	if err := Rename(a, filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "c", "x")); got != a {
		t.Fatalf("renamed directory holds %q", got)
	}
}
