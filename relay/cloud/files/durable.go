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

// staged is a scrape directory written under a temporary name in its
// target directory, not yet durable nor in place.
type staged struct {
	g                group
	rel, target, tmp string // tmp: "" once renamed into place
	epochUs          int64
	data, js, native []byte
}

// paths are what a barrier must make durable for st's files to survive a
// crash: its files and its temporary directory.
func (st *staged) paths() []string {
	name := strconv.FormatInt(st.epochUs, 10)
	p := []string{filepath.Join(st.tmp, name+".data.gz"), filepath.Join(st.tmp, name+".json"), st.tmp}
	if len(st.native) > 0 {
		p = append(p, filepath.Join(st.tmp, name+nativeSuffix))
	}
	return p
}

// stage writes data, js and native (when not empty) without fsync into a
// new temporary directory of the target directory rel (<tenant>/<site>/
// <target>, relative to the root), creating the target directory when
// needed. Retention leaves it alone until unstage. The caller holds the
// target's lock.
//
// What a target directory is known to hold (it exists, durably; where its
// "latest" points) is kept in w.targets, so a steady target's scrape costs
// no look-ups: the directory is written under a temporary name and renamed
// into place, and only a name already taken is looked at.
func (w *Writer) stage(rel string, epochUs int64, data, js, native []byte) (*staged, error) {
	if _, err := w.target(rel); err != nil {
		return nil, err
	}
	st := &staged{rel: rel, target: filepath.Join(w.dir, rel), epochUs: epochUs, data: data, js: js, native: native}
	var err error
	if st.tmp, err = w.mkTemp(rel, st.target, epochUs); err != nil {
		return nil, err
	}
	w.staging.Store(st.tmp, struct{}{})
	if err := writeScrape(st.tmp, strconv.FormatInt(epochUs, 10), data, js, native, false); err != nil {
		w.unstage(st)
		return nil, err
	}
	return st, nil
}

// unstage removes st's temporary directory when it was not renamed into
// place.
func (w *Writer) unstage(st *staged) {
	if st.tmp == "" {
		return
	}
	os.RemoveAll(st.tmp)
	w.staging.Delete(st.tmp)
	st.tmp = ""
}

// publish renames st, whose files are durable, into place as scrape
// directory <epochUs>, bumping epochUs past directories holding something
// else, and points "latest" at it when it is the newest. It returns the
// epochUs it went to, and false when an identical directory already
// existed there. The rename is made durable by the caller (a barrier
// covering the target directory). The caller holds the target's lock.
func (w *Writer) publish(st *staged) (int64, bool, error) {
	ts, err := w.target(st.rel)
	if err != nil {
		return 0, false, err
	}
	epochUs := st.epochUs
	for range maxBumps {
		name := strconv.FormatInt(epochUs, 10)
		dst := filepath.Join(st.target, name)
		err := fsutil.Rename(st.tmp, dst)
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.ENOTDIR) {
			// Taken: by the same scrape (a resend), or by another one.
			if same(dst, name, st.data, st.js, st.native) {
				return epochUs, false, nil
			}
			// Another scrape at the same microsecond (rare): the next
			// one, its files written again under their new name and
			// synced here, before the rename.
			if err := clearDir(st.tmp); err != nil {
				return 0, false, err
			}
			epochUs++
			if err := writeScrape(st.tmp, strconv.FormatInt(epochUs, 10), st.data, st.js, st.native, true); err != nil {
				return 0, false, err
			}
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("rename %q to %q: %w", st.tmp, dst, err)
		}
		w.staging.Delete(st.tmp)
		st.tmp = ""
		return epochUs, true, w.updateLatest(ts, st.target, epochUs)
	}
	return 0, false, fmt.Errorf("no free scrape directory in %q after %d tries", st.target, maxBumps)
}

// targetState is what w.targets knows of a target directory: it exists,
// durably, and its "latest" link points at latest (0: not known).
type targetState struct{ latest int64 }

// target returns what is known of target directory rel, creating it and
// its missing ancestors first when it is not known. The caller holds the
// target's lock.
func (w *Writer) target(rel string) (*targetState, error) {
	if ts, ok := w.targets.Load(rel); ok {
		return ts.(*targetState), nil
	}
	if err := w.ensureDirs(rel); err != nil {
		return nil, err
	}
	ts := &targetState{}
	w.targets.Store(rel, ts)
	return ts, nil
}

// mkTemp creates an empty temporary directory in target rel for a scrape
// of epochUs. A target directory removed behind the writer's back is made
// again. The caller holds the target's lock.
func (w *Writer) mkTemp(rel, target string, epochUs int64) (string, error) {
	tmp := filepath.Join(target, tmpPrefix+strconv.FormatInt(epochUs, 10)+"-"+strconv.FormatUint(w.tmpSeq.Add(1), 10))
	err := os.Mkdir(tmp, 0o755)
	if errors.Is(err, fs.ErrNotExist) {
		w.targets.Delete(rel)
		if _, err = w.target(rel); err == nil {
			err = os.Mkdir(tmp, 0o755)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		// A leftover of an earlier run, interrupted.
		if err = os.RemoveAll(tmp); err == nil {
			err = os.Mkdir(tmp, 0o755)
		}
	}
	if err != nil {
		return "", fmt.Errorf("create temporary directory in %q: %w", target, err)
	}
	return tmp, nil
}

// writeScrape writes <name>.data.gz, <name>.json and, when native is not
// empty, <name>.native.gz into dir; synced, it fsyncs them and dir.
func writeScrape(dir, name string, data, js, native []byte, synced bool) error {
	write := writeUnsynced
	if synced {
		write = fsutil.WriteSynced
	}
	if err := write(filepath.Join(dir, name+".data.gz"), data, 0o644); err != nil {
		return err
	}
	if len(native) > 0 {
		if err := write(filepath.Join(dir, name+nativeSuffix), native, 0o644); err != nil {
			return err
		}
	}
	if err := write(filepath.Join(dir, name+".json"), js, 0o644); err != nil {
		return err
	}
	if !synced {
		return nil
	}
	return fsutil.SyncDir(dir)
}

// writeUnsynced creates path with data, made durable later by a barrier.
func writeUnsynced(path string, data []byte, perm os.FileMode) error {
	if err := fsutil.WriteNew(path, data, perm); err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	return nil
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
// something newer, replacing the link by rename; ts keeps where it points.
func (w *Writer) updateLatest(ts *targetState, target string, epochUs int64) error {
	if ts.latest >= epochUs {
		return nil
	}
	link := filepath.Join(target, latestName)
	if ts.latest == 0 {
		// Not known since this writer began: look.
		if cur, err := os.Readlink(link); err == nil {
			if n, err := strconv.ParseInt(cur, 10, 64); err == nil && n >= epochUs {
				ts.latest = n
				return nil
			}
		}
	}
	tmp := filepath.Join(target, tmpPrefix+latestName+"-"+strconv.FormatInt(epochUs, 10))
	err := os.Symlink(strconv.FormatInt(epochUs, 10), tmp)
	if errors.Is(err, fs.ErrExist) { // left by an interrupted write
		os.Remove(tmp)
		err = os.Symlink(strconv.FormatInt(epochUs, 10), tmp)
	}
	if err != nil {
		return fmt.Errorf("create link %q: %w", tmp, err)
	}
	if err := fsutil.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace link %q: %w", link, err)
	}
	ts.latest = epochUs
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
