package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

const (
	tmpPrefix  = ".tmp-"
	latestName = "latest"
	// maxBumps bounds the search for a free epoch_us on collisions.
	maxBumps = 1000
)

// place writes data, js and native (when not empty) as scrape directory
// <epochUs> of the target directory rel (<tenant>/<site>/<target>, relative
// to the root), bumping epochUs past directories holding something else,
// and points "latest" at it when it is the newest. It returns the epochUs
// it went to, and false when an identical directory already existed there.
// The caller holds the target's lock.
func (w *Writer) place(rel string, epochUs int64, data, js, native []byte) (int64, bool, error) {
	if err := w.ensureDirs(rel); err != nil {
		return 0, false, err
	}
	target := filepath.Join(w.dir, rel)

	var tmp string
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	for range maxBumps {
		name := strconv.FormatInt(epochUs, 10)
		dst := filepath.Join(target, name)
		if _, err := os.Lstat(dst); err == nil {
			if same(dst, name, data, js, native) {
				return epochUs, false, nil
			}
			epochUs++
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return 0, false, fmt.Errorf("stat %q: %w", dst, err)
		}
		if tmp == "" {
			var err error
			if tmp, err = os.MkdirTemp(target, tmpPrefix); err != nil {
				return 0, false, fmt.Errorf("create temporary directory in %q: %w", target, err)
			}
		}
		if err := writeScrape(tmp, name, data, js, native); err != nil {
			return 0, false, err
		}
		err := os.Rename(tmp, dst)
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			// Someone else placed it meanwhile; look again.
			if err := clearDir(tmp); err != nil {
				return 0, false, err
			}
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("rename %q to %q: %w", tmp, dst, err)
		}
		tmp = ""
		if err := w.updateLatest(target, epochUs); err != nil {
			return epochUs, true, err
		}
		if err := fsutil.SyncDir(target); err != nil {
			return epochUs, true, err
		}
		return epochUs, true, nil
	}
	return 0, false, fmt.Errorf("no free scrape directory in %q after %d tries", target, maxBumps)
}

// writeScrape writes <name>.data.gz, <name>.json and, when native is not
// empty, <name>.native.gz into dir, fsyncs them and dir, and makes dir
// world-readable like the rest of the layout.
func writeScrape(dir, name string, data, js, native []byte) error {
	if err := fsutil.WriteSynced(filepath.Join(dir, name+".data.gz"), data, 0o644); err != nil {
		return err
	}
	if len(native) > 0 {
		if err := fsutil.WriteSynced(filepath.Join(dir, name+nativeSuffix), native, 0o644); err != nil {
			return err
		}
	}
	if err := fsutil.WriteSynced(filepath.Join(dir, name+".json"), js, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("chmod %q: %w", dir, err)
	}
	return fsutil.SyncDir(dir)
}

// clearDir empties dir so it can be renamed again under another name.
func clearDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %q: %w", dir, err)
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove %q: %w", e.Name(), err)
		}
	}
	return nil
}

// same reports whether scrape directory dst (named name) holds exactly
// data, js and native (no native file when native is empty).
func same(dst, name string, data, js, native []byte) bool {
	got, err := os.ReadFile(filepath.Join(dst, name+".json"))
	if err != nil || !bytes.Equal(got, js) {
		return false
	}
	got, err = os.ReadFile(filepath.Join(dst, name+nativeSuffix))
	if len(native) == 0 && !errors.Is(err, fs.ErrNotExist) || len(native) > 0 && (err != nil || !sameGzip(got, native)) {
		return false
	}
	got, err = os.ReadFile(filepath.Join(dst, name+".data.gz"))
	return err == nil && sameGzip(got, data)
}

// sameGzip reports whether two gzip streams hold the same bytes: a
// directory written before a change of compression level or library holds
// the same scrape in other compressed bytes.
func sameGzip(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ra, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		return false
	}
	rb, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return false
	}
	da, errA := io.ReadAll(ra)
	db, errB := io.ReadAll(rb)
	return errA == nil && errB == nil && bytes.Equal(da, db)
}

// updateLatest points target/latest at epochUs unless it already points at
// something newer, replacing the link by rename.
func (w *Writer) updateLatest(target string, epochUs int64) error {
	link := filepath.Join(target, latestName)
	if cur, err := os.Readlink(link); err == nil {
		if n, err := strconv.ParseInt(cur, 10, 64); err == nil && n >= epochUs {
			return nil
		}
	}
	tmp := filepath.Join(target, tmpPrefix+latestName+"-"+strconv.FormatInt(epochUs, 10))
	os.Remove(tmp)
	if err := os.Symlink(strconv.FormatInt(epochUs, 10), tmp); err != nil {
		return fmt.Errorf("create link %q: %w", tmp, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace link %q: %w", link, err)
	}
	return nil
}

// ensureDirs creates root/rel and each of its missing ancestors below root
// (tenant, site, target), each made durable in its parent.
func (w *Writer) ensureDirs(rel string) error {
	parts := strings.Split(rel, string(filepath.Separator))
	for i := range parts {
		if err := w.ensureDir(filepath.Join(parts[:i+1]...)); err != nil {
			return err
		}
	}
	return nil
}

// ensureDir creates root/rel when missing and then fsyncs its parent so the
// new entry is durable.
func (w *Writer) ensureDir(rel string) error {
	if strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
		panic("BUG: files: path escapes root: " + rel)
	}
	p := filepath.Join(w.dir, rel)
	err := os.Mkdir(p, 0o755)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %q: %w", p, err)
	}
	return fsutil.SyncDir(filepath.Dir(p))
}
