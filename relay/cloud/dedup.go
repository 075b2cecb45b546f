package cloud

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// watermarks remembers, per (tenant, site, edge queue id), which block
// sequence numbers were durably handled, so a block resent after a crash
// or a reconnect, or imported from a bundle after it was sent live (or the
// other way round), is acknowledged without being applied twice.
//
// Handled numbers are kept as merged ranges: live traffic keeps them one
// range, an imported bundle that was deleted from the edge before the link
// came back adds a second one. State is one small file per site, replaced
// atomically (fsutil.WriteFileShared: its syncs by a barrier shared with
// every site's writes of the moment), and the marks in the site's delta base
// logs (marklog.go): a block with delta frames is marked in its base log
// record, in the same write as its frames (record), a block
// without replaces the file (advance). Loading a site's state reads both;
// the file is written before a log holding marks is emptied or removed
// (persist).
//
// A site keeps at most maxQueues(tenant) queue ids (the tenant's
// limits.max_queues_per_site): recording a block of one more forgets the
// least recently used queue's ranges, so a site cannot make the state, and
// the file rewritten after each block, grow without bound. A block resent
// from a forgotten queue would be applied again (docs/security.md).
//
// Each site has its own lock: one site's file being written and synced
// never holds up another's blocks.
type watermarks struct {
	dir string
	// logs returns the paths of a site's delta base logs, whose records
	// hold marks; nil: none.
	logs func(tenant, site string) []string
	// maxQueues bounds the queue ids kept per site of a tenant; nil or a
	// result <= 0: no bound.
	maxQueues func(tenant string) int
	// evicted, when set, is told of each queue id forgotten at maxQueues.
	evicted func(tenant, site string, queueID uint64)
	mu      sync.Mutex // guards m, not what its entries hold
	m       map[string]*siteEntry
	// barrier makes the replaced files durable, every site's at once.
	barrier *fsutil.Barrier
}

// siteEntry holds one site's state once loaded.
type siteEntry struct {
	mu    sync.Mutex
	marks *siteMarks // nil until loaded
}

// siteMarks is the persisted state of one (tenant, site).
type siteMarks struct {
	// Queues maps an edge queue id (hex: JSON numbers lose 64-bit
	// precision) to its handled ranges, sorted and disjoint.
	Queues map[string][]span `json:"queues"`
	// Used is the value of Clock when each queue id was last used (a
	// block of it seen or recorded); the lowest is evicted first. A file
	// written before it existed has none: those queues count as oldest.
	Used  map[string]uint64 `json:"used,omitempty"`
	Clock uint64            `json:"clock,omitempty"`
}

// touch marks queue q as used now; m.Used must not be shared.
func (m *siteMarks) touch(q string) {
	m.Clock++
	m.Used[q] = m.Clock
}

// lru returns the least recently used queue id (ties: the smallest id).
func (m *siteMarks) lru() string {
	var old string
	first := true
	for q := range m.Queues {
		if first || m.Used[q] < m.Used[old] || (m.Used[q] == m.Used[old] && q < old) {
			old, first = q, false
		}
	}
	return old
}

type span struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

func newWatermarks(dir string) (*watermarks, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dedup state: %w", err)
	}
	br, err := fsutil.BarrierFor(dir, syncWindow)
	if err != nil {
		return nil, fmt.Errorf("dedup state: %w", err)
	}
	return &watermarks{dir: dir, m: map[string]*siteEntry{}, barrier: br}, nil
}

func (w *watermarks) path(tenant, site string) string {
	// tenant is validated as a name; site is free text from the edge, so it
	// is escaped into a safe file name.
	return filepath.Join(w.dir, tenant+"."+safeName(site)+".json")
}

// seen reports whether (tenant, site, queueID, seq) was already handled.
func (w *watermarks) seen(tenant, site string, queueID, seq uint64) (bool, error) {
	e := w.entry(tenant, site)
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := w.load(e, tenant, site)
	if err != nil {
		return false, err
	}
	q := strconv.FormatUint(queueID, 16)
	spans, ok := m.Queues[q]
	if ok {
		m.touch(q) // kept in memory; written with the next block
	}
	i := sort.Search(len(spans), func(i int) bool { return spans[i].To >= seq })
	return i < len(spans) && spans[i].From <= seq, nil
}

// handled returns the ranges of (tenant, site, queueID) handled so far.
func (w *watermarks) handled(tenant, site string, queueID uint64) ([]span, error) {
	e := w.entry(tenant, site)
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := w.load(e, tenant, site)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.Queues[strconv.FormatUint(queueID, 16)]), nil
}

// advance records seqs as handled, durably, in one write.
func (w *watermarks) advance(tenant, site string, queueID uint64, seqs ...uint64) error {
	return w.add(tenant, site, queueID, seqs, true)
}

// record records seq as handled, made durable by the caller: its mark is
// in the site's delta base log (marklog.go).
func (w *watermarks) record(tenant, site string, queueID, seq uint64) error {
	return w.add(tenant, site, queueID, []uint64{seq}, false)
}

// persist writes the state of (tenant, site) to its file, durably.
func (w *watermarks) persist(tenant, site string) error {
	e := w.entry(tenant, site)
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := w.load(e, tenant, site)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	if err := fsutil.WriteFile(w.path(tenant, site), b, 0o644); err != nil {
		return fmt.Errorf("dedup state: %w", err)
	}
	return nil
}

// add records seqs as handled, writing the state's file when durable.
func (w *watermarks) add(tenant, site string, queueID uint64, seqs []uint64, durable bool) error {
	e := w.entry(tenant, site)
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := w.load(e, tenant, site)
	if err != nil {
		return err
	}
	q := strconv.FormatUint(queueID, 16)
	next := &siteMarks{Queues: make(map[string][]span, len(m.Queues)+1), Used: make(map[string]uint64, len(m.Queues)+1), Clock: m.Clock}
	for k, v := range m.Queues {
		next.Queues[k] = v
		next.Used[k] = m.Used[k]
	}
	var evicted []string
	if _, ok := next.Queues[q]; !ok && w.maxQueues != nil {
		if max := w.maxQueues(tenant); max > 0 {
			for len(next.Queues) >= max {
				old := next.lru()
				delete(next.Queues, old)
				delete(next.Used, old)
				evicted = append(evicted, old)
			}
		}
	}
	spans := m.Queues[q]
	for _, seq := range seqs {
		spans = addSeq(spans, seq)
	}
	next.Queues[q] = spans
	next.touch(q)
	if durable {
		b, _ := json.Marshal(next)
		// A block without delta frames: its file replaced, made durable
		// with every other site's of the moment.
		if err := fsutil.WriteFileShared(w.barrier, w.path(tenant, site), b, 0o644); err != nil {
			return fmt.Errorf("dedup state: %w", err)
		}
	}
	e.marks = next
	for _, old := range evicted {
		if id, err := strconv.ParseUint(old, 16, 64); err == nil && w.evicted != nil {
			w.evicted(tenant, site, id)
		}
	}
	return nil
}

// addSeq returns spans with seq added, merged with its neighbours.
func addSeq(spans []span, seq uint64) []span {
	out := make([]span, 0, len(spans)+1)
	placed := false
	for _, s := range spans {
		switch {
		case placed || s.To+1 < seq:
			out = append(out, s)
		case s.From <= seq && seq <= s.To:
			out = append(out, s)
			placed = true
		case s.To+1 == seq:
			out = append(out, span{s.From, seq})
			placed = true
		case seq+1 == s.From:
			out = append(out, span{seq, s.To})
			placed = true
		default: // seq lies before s, not adjacent
			out = append(out, span{seq, seq}, s)
			placed = true
		}
		// Merge with the previous span when they now touch.
		if n := len(out); n >= 2 && out[n-2].To+1 >= out[n-1].From {
			out[n-2].To = max(out[n-2].To, out[n-1].To)
			out = out[:n-1]
		}
	}
	if !placed {
		out = append(out, span{seq, seq})
	}
	return out
}

// entry returns the entry of (tenant, site), loaded or not.
func (w *watermarks) entry(tenant, site string) *siteEntry {
	key := tenant + "\x00" + site
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.m[key]
	if e == nil {
		e = &siteEntry{}
		w.m[key] = e
	}
	return e
}

// load returns the state of (tenant, site), reading it into e the first
// time; e.mu must be held.
func (w *watermarks) load(e *siteEntry, tenant, site string) (*siteMarks, error) {
	if e.marks != nil {
		return e.marks, nil
	}
	m := &siteMarks{Queues: map[string][]span{}}
	b, err := os.ReadFile(w.path(tenant, site))
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, fmt.Errorf("dedup state: %w", err)
	default:
		if err := json.Unmarshal(b, m); err != nil {
			return nil, fmt.Errorf("dedup state %s: %w", w.path(tenant, site), err)
		}
		if m.Queues == nil {
			m.Queues = map[string][]span{}
		}
	}
	if m.Used == nil {
		m.Used = map[string]uint64{}
	}
	if w.logs != nil {
		for _, p := range w.logs(tenant, site) {
			if err := logMarks(p, func(bm blockMark) {
				q := strconv.FormatUint(bm.queueID, 16)
				m.Queues[q] = addSeq(m.Queues[q], bm.seq)
				m.touch(q)
			}); err != nil {
				return nil, fmt.Errorf("dedup state: %w", err)
			}
		}
	}
	e.marks = m
	return m, nil
}

// safeName keeps letters, digits, '-' and '_' and escapes every other byte
// as %XX, so the result is one path element that cannot climb out.
func safeName(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			b = append(b, c)
		} else {
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	if len(b) == 0 {
		return "%"
	}
	return string(b)
}
