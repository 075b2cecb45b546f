package cloud

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/internal/fsutil"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/limits"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// bases keeps, per (tenant, site, edge queue id, lane), the delta decoder
// that rebuilds the scrapes of one edge of the site, and makes it survive a
// restart of the cloud. Several edges of one site (edges sharing its
// scrape_configs, edge.scrape_shard) each have their own queue id, so
// their delta streams never mix.
//
// On disk a site has a checkpoint (the decoder's MarshalState) and a log
// of the frames applied since, one record per block: appending a block's
// frames costs what the block cost on the wire, made durable by a barrier
// shared with every site appending at the same time (fsutil.Barrier). Loading
// replays the log over the checkpoint; a torn last record (a crash while
// appending) is cut off, which is safe because the block it belonged to
// was never acknowledged. The log is folded into a new checkpoint when it
// outgrows the checkpoint.
//
// A site's base is used by one block at a time: get locks it, and the
// caller unlocks it with done (keeping what it applied, once durable) or
// discard (forgetting it; the next get reloads the durable state).
type bases struct {
	dir string
	// marks takes the block marks the logs' records hold (marklog.go): in
	// memory once a record is synced, to their own file before a log is
	// emptied or removed. Nil: a log's marks are kept nowhere else.
	marks *watermarks
	mu    sync.Mutex
	m     map[string]*siteBase
	swept time.Time
	// barrier makes the logs' records durable, every site's at once.
	barrier *fsutil.Barrier

	smu    sync.Mutex     // guards series; taken under no other lock of bases
	series map[string]int // series held in memory per tenant (baselimit.go)
}

// idleBase is how long a site's decoder stays in memory without a block;
// then it is folded to disk and dropped, so a cloud serving many sites
// holds only the bases of those sending now.
const idleBase = 10 * time.Minute

type siteBase struct {
	b        *bases
	tenant   string
	site     string
	series   int // what b.series counts of this base
	mu       sync.Mutex
	path     string // without extension
	dec      *delta.Decoder
	rb       *deltaconv.Rebuilder      // the batches of dec's scrapes, tenant labelled
	admitted map[targetID]*limits.Memo // what the tenant's limits admitted of each target's scrapes
	log      *os.File
	logBytes int64
	ckBytes  int64
	loaded   bool
	used     time.Time
	// replayFailed counts what did not load on the last load: log frames
	// that did not apply, and a damaged checkpoint (set aside).
	replayFailed int
	// limitGen is the generation whose bases max_base_series dropped last:
	// its frames are lost without asking the edge to resend their bases,
	// which the limit would drop again (replay.go).
	limitGen uint64
	// legacy is where releases that kept one base per site put this one
	// (without the queue id): load adopts it once when path has nothing.
	legacy string
}

// baseKey is the key of bases.m.
func baseKey(tenant, site string, queueID uint64, lane uint8) string {
	return fmt.Sprintf("%s\x00%s\x00%016x\x00%d", tenant, site, queueID, lane)
}

// minFold is the log size below which it is never folded (a variable for
// tests).
var minFold int64 = 4 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func newBases(dir string) (*bases, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("delta bases: %w", err)
	}
	br, err := fsutil.BarrierFor(dir, syncWindow)
	if err != nil {
		return nil, fmt.Errorf("delta bases: %w", err)
	}
	return &bases{dir: dir, m: map[string]*siteBase{}, series: map[string]int{}, barrier: br}, nil
}

// syncWindow is how long a durability barrier (fsutil.Barrier) of the
// cloud's disks waits, from the first block needing it, for others to
// share it, once barriers are being shared. A block waits for three (its
// files, their renames, its base log record), so on a busy cloud it costs
// each block up to 30 ms before its acknowledgement; in return 200 sites
// sending every 5 s share a barrier about three at a time rather than one
// (bench/sites), and more sites share it more. A lone stream of blocks
// does not wait.
const syncWindow = 10 * time.Millisecond

// get returns the locked base of (tenant, site, queueID, lane), loading it
// if needed. Each lane of an edge has its own decoder (see transport's
// Lanes): an edge draining a backlog beside live data sends two streams of
// frames, each in order.
func (b *bases) get(tenant, site string, queueID uint64, lane uint8) (*siteBase, error) {
	key := baseKey(tenant, site, queueID, lane)
	now := time.Now()
	b.mu.Lock()
	sb := b.m[key]
	if sb == nil {
		path, legacy := b.path(tenant, site, queueID, lane)
		sb = &siteBase{b: b, tenant: tenant, site: site, path: path, legacy: legacy}
		b.m[key] = sb
	}
	var idle []*siteBase
	if now.Sub(b.swept) > time.Minute {
		b.swept = now
		for _, o := range b.m {
			if o != sb {
				idle = append(idle, o)
			}
		}
	}
	b.mu.Unlock()
	for _, o := range idle {
		o.evictIfIdle(now)
	}
	sb.mu.Lock()
	sb.used = now
	if !sb.loaded {
		if err := sb.load(); err != nil {
			sb.mu.Unlock()
			return nil, err
		}
	}
	return sb, nil
}

// targetID names a target of a site's scrapes.
type targetID struct{ job, instance string }

// memo returns what the tenant's limits admitted of the last scrapes of
// b's target (see limits.Memo). The caller holds sb.mu.
func (sb *siteBase) memo(b *relay.Batch) *limits.Memo {
	if sb.admitted == nil {
		sb.admitted = map[targetID]*limits.Memo{}
	}
	id := targetID{b.Job, b.Instance}
	m := sb.admitted[id]
	if m == nil {
		m = &limits.Memo{}
		sb.admitted[id] = m
	}
	return m
}

// path is where the base of (tenant, site, queueID, lane) is kept,
// without extension, and legacy where a release keeping one base per site
// kept it. safeName never makes a '.', so the parts never run together.
func (b *bases) path(tenant, site string, queueID uint64, lane uint8) (path, legacy string) {
	legacy = filepath.Join(b.dir, tenant+"."+safeName(site))
	path = fmt.Sprintf("%s.%016x", legacy, queueID)
	if lane != 0 {
		path += ".lane1"
		legacy += ".lane1"
	}
	return path, legacy
}

// adoptLegacy renames a base kept per site by an earlier release to sb's
// path, when sb has none: the site's one edge goes on where it was. Were
// it another edge's, its frames would find no base of their generation
// and ask for full frames, as after any lost base.
func (sb *siteBase) adoptLegacy() error {
	if sb.legacy == "" {
		return nil
	}
	legacy := sb.legacy
	sb.legacy = ""
	if _, err := os.Stat(sb.path + ".log"); err == nil {
		return nil
	}
	moved := false
	for _, ext := range []string{".state", ".log"} {
		err := os.Rename(legacy+ext, sb.path+ext)
		switch {
		case err == nil:
			moved = true
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("delta bases: adopt %s%s: %w", legacy, ext, err)
		}
	}
	if moved {
		return fsutil.SyncDir(filepath.Dir(sb.path))
	}
	return nil
}

// saveMarks writes the watermarks of (tenant, site) to their own file.
func (b *bases) saveMarks(tenant, site string) error {
	if b.marks == nil {
		return nil
	}
	return b.marks.persist(tenant, site)
}

// logs returns the paths of the logs of every edge queue and lane of
// (tenant, site), and those a release keeping one base per site left.
func (b *bases) logs(tenant, site string) []string {
	legacy := filepath.Join(b.dir, tenant+"."+safeName(site))
	out := []string{legacy + ".log", legacy + ".lane1.log"}
	matches, _ := filepath.Glob(legacy + ".*.log")
	for _, m := range matches {
		// A queue's: 16 hex digits, then ".log" or ".lane1.log" (a
		// tenant name with a '.' could otherwise match another's).
		rest := strings.TrimPrefix(m, legacy+".")
		rest = strings.TrimSuffix(strings.TrimSuffix(rest, ".log"), ".lane1")
		if _, err := strconv.ParseUint(rest, 16, 64); err == nil && len(rest) == 16 {
			out = append(out, m)
		}
	}
	return out
}

// done makes the frames applied for one block, and the block's mark m
// (nil: none), durable in one write and a barrier shared with every site
// appending at the time, then unlocks.
func (sb *siteBase) done(frames [][]byte, m *blockMark) error {
	defer sb.mu.Unlock()
	if len(frames) == 0 && m == nil {
		return nil
	}
	buf := logRecord(frames, m)
	defer recBufs.Put(&buf)
	if _, err := sb.log.Write(buf); err != nil {
		sb.forget()
		return fmt.Errorf("delta bases: %w", err)
	}
	// Made durable with every other site's record of the moment.
	if err := sb.b.barrier.Sync(sb.path + ".log"); err != nil {
		sb.forget()
		return fmt.Errorf("delta bases: %w", err)
	}
	sb.logBytes += int64(len(buf))
	sb.account()
	if m != nil && sb.b.marks != nil {
		// Before a fold below empties the log of the mark.
		if err := sb.b.marks.record(sb.tenant, sb.site, m.queueID, m.seq); err != nil {
			return err
		}
	}
	if sb.logBytes > minFold && sb.logBytes > 2*sb.ckBytes {
		if err := sb.fold(); err != nil {
			// The log still holds everything; try again next time.
			return nil
		}
	}
	return nil
}

// recBufs holds the buffers log records are built in: a large site's
// frames are megabytes a block, garbage the collector would otherwise chase.
var recBufs = sync.Pool{New: func() any { return new([]byte) }}

// logRecord returns the log record of one block, in a buffer of recBufs:
// its length and CRC-32C, then the mark m (nil: none) and each frame,
// length first.
func logRecord(frames [][]byte, m *blockMark) []byte {
	size := 8 + 3*binary.MaxVarintLen64
	for _, f := range frames {
		size += binary.MaxVarintLen64 + len(f)
	}
	buf := *recBufs.Get().(*[]byte)
	if cap(buf) < size {
		buf = make([]byte, 8, size)
	}
	buf = buf[:8]
	if m != nil {
		buf = appendMark(buf, *m)
	}
	for _, f := range frames {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	rec := buf[8:]
	binary.LittleEndian.PutUint32(buf[:4], uint32(len(rec)))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(rec, crcTable))
	return buf
}

// evictIfIdle folds the base to disk and drops it from memory when it was
// not used for idleBase. The siteBase itself stays (it is small), so two
// never exist for one site.
func (sb *siteBase) evictIfIdle(now time.Time) {
	if !sb.mu.TryLock() {
		return // in use
	}
	defer sb.mu.Unlock()
	if !sb.loaded || now.Sub(sb.used) < idleBase {
		return
	}
	if sb.logBytes > 0 {
		if err := sb.fold(); err != nil {
			return // keep it; the log still holds everything
		}
	}
	sb.forget()
}

// discard forgets what was applied since the last done, then unlocks.
func (sb *siteBase) discard() {
	sb.forget()
	sb.mu.Unlock()
}

func (sb *siteBase) forget() {
	if sb.log != nil {
		sb.log.Close()
	}
	sb.log, sb.dec, sb.rb, sb.admitted, sb.loaded = nil, nil, nil, nil, false
	sb.account()
}

// close closes every open log.
func (b *bases) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sb := range b.m {
		sb.mu.Lock()
		sb.forget()
		sb.mu.Unlock()
	}
}
