package store

import (
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// The queue compacts its own LSM tree. Badger's compactors (NumCompactors)
// each wake every 50 ms whether or not anything was written: with the two
// the queue ran, an idle edge spent 5-8 ms of CPU and over 200 context
// switches a second on them alone, more than vmagent's whole process. The
// queue opens Badger with none and runs one compaction goroutine that
// sleeps until a write, so an idle queue never wakes.
//
// After every write the writer reads Badger's own compaction scores
// (DB.Levels, from the pickCompactLevels its compactors use). When a level
// is due (score above 1: six tables in level 0, or a level past its target
// size) it wakes the goroutine, which runs DB.Flatten: that compacts until
// every table sits on one level. BaseLevelSize is set beyond any queue, so that level is the
// last one: level 0 is merged straight into it. The queue's keys grow with
// each Seq, and the keys every commit rewrites sort last (record.go), so a
// merge rewrites the newest blocks and the few tables they touch, not the
// backlog below them. Writes go on during a compaction; Badger stalls them
// only at 15 tables in level 0, nine memtable flushes after one is due.
//
// Measured against Badger's two compactors on 64 KiB blocks (bench_test.go,
// 2 cores, two runs each): growing a backlog of 4000 blocks appends
// 982-1169 blocks/s against 704-885 and writes 3.1 bytes to storage per
// byte appended against 4.6; catching up acknowledges 1388-1754 blocks/s
// (90-114 MB/s) against 3397-3866, writing 2.3-2.9 bytes per byte
// acknowledged against 0.7-1.1, because it reclaims the space as it goes
// (42-112 MiB left on disk against 281-285). Steady appends with a reader
// acknowledging behind: 1242-1323 blocks/s against 1209-1423, peak RSS
// 64-66 MiB against 85-88.

// compactor runs the queue's compactions; see above.
type compactor struct {
	db   *badger.DB
	poke chan struct{} // capacity 1: a write happened since the last check
	idle chan struct{} // closed when run returned
	runs atomic.Int64  // compactions run
}

func newCompactor(db *badger.DB) *compactor {
	return &compactor{db: db, poke: make(chan struct{}, 1), idle: make(chan struct{})}
}

// wrote tells the compactor that the tree changed: a writer reads the
// scores itself (about 1 µs) and wakes the goroutine only when a level is
// due, so that a commit costs no goroutine hand-off. It never blocks.
func (c *compactor) wrote() {
	if !c.due() {
		return
	}
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// due reports whether Badger would compact now.
func (c *compactor) due() bool {
	for _, l := range c.db.Levels() {
		if l.Score > 1 {
			return true
		}
	}
	return false
}

// compactRetry is how long after a failed compaction no write starts
// another: a failing compaction (a full disk, say) is neither retried nor
// logged on every write.
const compactRetry = 10 * time.Second

// run compacts when a write made a level due, until stop is closed. It
// must return before the database closes. A compaction that failed (say,
// a full disk) is tried again on the first write compactRetry after it,
// and onErr is told once per failure.
func (c *compactor) run(stop <-chan struct{}, onErr func(error)) {
	defer close(c.idle)
	var retryAt time.Time
	for {
		select {
		case <-stop:
			return
		case <-c.poke:
		}
		if time.Now().Before(retryAt) || !c.due() {
			continue
		}
		err := c.db.Flatten(1)
		c.runs.Add(1)
		retryAt = time.Time{}
		if err != nil {
			retryAt = time.Now().Add(compactRetry)
			onErr(err)
		}
	}
}
