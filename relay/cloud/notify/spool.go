package notify

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// spool is one hook's queue of notices not yet delivered: a directory of
// records, one per block's notices, named by a sequence number in hex
// (<seq>.ndjson, seq following the clock), each written whole and durably (fsutil.WriteFile) before
// the block is acknowledged. The sender reads the oldest, delivers it and
// removes it. Past maxBytes the oldest records are removed, their notices
// counted as dropped; the newest is always kept. Safe for concurrent use.
type spool struct {
	dir      string
	maxBytes int64
	m        hookMetrics

	mu      sync.Mutex
	recs    []record // oldest first
	bytes   int64
	notices int
	next    uint64
	wake    chan struct{} // a record was added
}

// record is one spool file.
type record struct {
	seq     uint64
	size    int64
	notices int
	done    int // delivered, of notices (the sender's progress)
}

const recordSuffix = ".ndjson"

// openSpool opens (creating) the spool in dir, taking the records a
// previous run left, and removing temporary files a crash left.
func openSpool(dir string, maxBytes int64, m hookMetrics) (*spool, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	s := &spool{dir: dir, maxBytes: maxBytes, m: m, wake: make(chan struct{}, 1)}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, fsutil.TempSuffix) {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, recordSuffix), 16, 64)
		if err != nil || !strings.HasSuffix(name, recordSuffix) {
			continue // not ours
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		s.recs = append(s.recs, record{seq: seq, size: int64(len(b)), notices: strings.Count(string(b), "\n")})
		s.next = max(s.next, seq+1)
	}
	slices.SortFunc(s.recs, func(a, b record) int { return cmp.Compare(a.seq, b.seq) })
	for _, r := range s.recs {
		s.bytes += r.size
		s.notices += r.notices
	}
	s.report()
	return s, nil
}

func (s *spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x%s", seq, recordSuffix))
}

// add writes data, an encoded record of n notices, durably, then drops the
// oldest records past maxBytes.
func (s *spool) add(data []byte, n int) error {
	s.mu.Lock()
	// Sequence numbers follow the clock, so that another process adding
	// to the spool (edgerelay queue import beside a running cloud) does
	// not take the same names.
	seq := max(s.next, uint64(time.Now().UnixNano()))
	s.next = seq + 1
	s.mu.Unlock()
	if err := fsutil.WriteFile(s.path(seq), data, 0o644); err != nil {
		return err
	}
	s.mu.Lock()
	r := record{seq: seq, size: int64(len(data)), notices: n}
	i, _ := slices.BinarySearchFunc(s.recs, seq, func(r record, seq uint64) int { return cmp.Compare(r.seq, seq) })
	s.recs = slices.Insert(s.recs, i, r)
	s.bytes += r.size
	s.notices += n
	for s.bytes > s.maxBytes && len(s.recs) > 1 {
		old := s.recs[0]
		s.removeLocked(old.seq)
		s.m.dropped.WithLabelValues(reasonSpoolFull).Add(float64(old.notices - old.done))
	}
	s.report()
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// head returns the oldest record.
func (s *spool) head() (record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recs) == 0 {
		return record{}, false
	}
	return s.recs[0], true
}

// read returns the notices of record seq.
func (s *spool) read(seq uint64) ([]Notice, error) {
	b, err := os.ReadFile(s.path(seq))
	if err != nil {
		return nil, err
	}
	return decode(b)
}

// progress records that the first done notices of record seq were
// delivered; it reports false when the record was dropped meanwhile.
func (s *spool) progress(seq uint64, done int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.recs {
		if s.recs[i].seq == seq {
			s.notices -= done - s.recs[i].done
			s.recs[i].done = done
			s.report()
			return true
		}
	}
	return false
}

// has reports whether record seq is still in the spool.
func (s *spool) has(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.recs, func(r record) bool { return r.seq == seq })
}

// remove removes record seq (delivered, or dropped), if still there.
func (s *spool) remove(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(seq)
	s.report()
}

func (s *spool) removeLocked(seq uint64) {
	i := slices.IndexFunc(s.recs, func(r record) bool { return r.seq == seq })
	if i < 0 {
		return
	}
	r := s.recs[i]
	if err := os.Remove(s.path(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Left on disk it comes back at the next start: delivered again,
		// at least once.
		s.m.log.Warn("remove notify spool record", "err", err)
	}
	s.recs = slices.Delete(s.recs, i, i+1)
	s.bytes -= r.size
	s.notices -= r.notices - r.done
}

// report updates the spool's gauges; the caller holds mu.
func (s *spool) report() {
	s.m.spoolNotices.Set(float64(s.notices))
	s.m.spoolBytes.Set(float64(s.bytes))
}
