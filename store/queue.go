package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Queue is a durable FIFO of opaque blocks in one directory. All methods
// are safe for concurrent use.
type Queue struct {
	db  *badger.DB
	dir string
	opt Options
	log *slog.Logger
	id  uint64

	// life is held shared by every operation that touches db and
	// exclusively by Close.
	life   sync.RWMutex
	closed bool
	done   chan struct{} // closed by Close

	// wmu serialises writers: group commits, acknowledgements and every
	// other write. A synced write holds it from its commit through its
	// sync, so that no other write rotates Badger's memtable in between
	// (the sync covers the active memtable's log only).
	wmu sync.Mutex
	// synced: writes are synced by the queue (not Options.SyncByCaller).
	synced  bool
	syncs   atomic.Int64 // syncDB calls that synced, for tests
	compact *compactor   // runs Badger's compactions (compact.go)
	stale   [][]byte     // keys a failed group commit may have left; guarded by wmu

	mu       sync.Mutex // guards everything below
	pending  []*appendReq
	st       state
	notify   chan struct{} // closed and replaced when blocks are committed
	diskAt   time.Time
	split    Split
	inflight map[uint64]struct{} // Seqs handed to a sender (Sending), none after Release
	held     []heldDrop          // cap drops of in-flight blocks, oldest first
	ret      retained            // acknowledged blocks kept (retain.go)
}

// state is the in-memory summary of the stored blocks.
type state struct {
	blocks                 int
	bytes, samples         int64
	acked                  uint64 // every Seq <= acked was deleted
	head                   uint64 // Seq of the oldest stored block, 0 if none
	next                   uint64 // Seq of the next block; blocks < next are committed
	oldestTime, newestTime int64
	droppedBlocks          int64
	droppedSamples         int64
	corrupt                int64
	corruptMax             uint64 // highest corrupt Seq counted
	diskBytes              int64
}

// Open opens (creating if needed) the queue in dir. Blocks left by an
// interrupted group commit are removed, and so is an empty memtable file
// left by a kill as Badger created it; Stats are rebuilt from the meta
// records.
func Open(dir string, o Options) (*Queue, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open queue at %q: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open queue at %q: %w", dir, err)
	}
	if err := removeEmptyMemtables(dir); err != nil {
		return nil, fmt.Errorf("open queue at %q: %w", dir, err)
	}
	db, err := badger.Open(badgerOptions(dir, o.Logger))
	if err != nil {
		return nil, fmt.Errorf("open queue at %q: %w", dir, err)
	}
	q := &Queue{
		db:       db,
		dir:      dir,
		opt:      o,
		log:      o.Logger.With("component", "store", "dir", dir),
		done:     make(chan struct{}),
		notify:   make(chan struct{}),
		inflight: map[uint64]struct{}{},
		synced:   !o.SyncByCaller,
		compact:  newCompactor(db),
	}
	moved, err := q.migrateKeys()
	if err == nil {
		err = q.load()
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open queue at %q: %w", dir, err)
	}
	go q.compact.run(q.done, func(err error) { q.log.Warn("compaction failed", "err", err) })
	q.refreshDisk(time.Now())
	if moved {
		q.log.Info("queue layout updated: its state keys moved to the end of the key space; older edgerelay versions refuse to open it")
	}
	q.log.Info("queue opened", "id", fmt.Sprintf("%016x", q.id), "blocks", q.st.blocks,
		"bytes", q.st.bytes, "head", q.st.head, "next", q.st.next, "corrupt", q.st.corrupt)
	return q, nil
}

// load reads the queue's identity and counters, creating them in a new
// directory, drops an uncommitted tail and rebuilds the state.
func (q *Queue) load() error {
	var idv, next, acked, split []byte
	err := q.db.View(func(txn *badger.Txn) error {
		for _, kv := range []struct {
			k []byte
			v *[]byte
		}{{keyID, &idv}, {keyNext, &next}, {keyAcked, &acked}, {keySplit, &split}} {
			it, err := txn.Get(kv.k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if *kv.v, err = it.ValueCopy(nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read queue state: %w", err)
	}
	if idv == nil {
		return q.create()
	}
	if q.id, err = parseU64(idv); err != nil {
		return fmt.Errorf("queue id: %w", err)
	}
	if q.st.next, err = parseU64(next); err != nil {
		return fmt.Errorf("next sequence: %w", err)
	}
	if acked != nil {
		if q.st.acked, err = parseU64(acked); err != nil {
			return fmt.Errorf("acked sequence: %w", err)
		}
	}
	if split != nil {
		if q.split, err = parseSplit(split); err != nil {
			return fmt.Errorf("lane split: %w", err)
		}
	}
	if q.st.next == 0 || q.st.acked >= q.st.next {
		return fmt.Errorf("%w: next sequence %d, acked %d", errCorrupt, q.st.next, q.st.acked)
	}
	if err := q.dropUncommitted(); err != nil {
		return err
	}
	if err := q.rebuild(); err != nil {
		return err
	}
	return q.loadRetained()
}

// create initialises a new queue directory with a random non-zero ID.
func (q *Queue) create() error {
	var b [8]byte
	for q.id == 0 {
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("choose queue id: %w", err)
		}
		q.id = binary.BigEndian.Uint64(b[:])
	}
	q.st.next = 1
	err := q.update(func(txn *badger.Txn) error {
		if err := txn.Set(keyID, u64(q.id)); err != nil {
			return err
		}
		return txn.Set(keyNext, u64(1))
	})
	if err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	return nil
}

// ID returns the queue's random non-zero identity, chosen when its
// directory was created.
func (q *Queue) ID() uint64 { return q.id }

// Stats returns the queue's state now.
func (q *Queue) Stats() Stats {
	now := time.Now()
	q.mu.Lock()
	stale := now.Sub(q.diskAt) > 2*time.Second
	q.mu.Unlock()
	if stale {
		q.refreshDisk(now)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.st
	return Stats{
		Blocks: s.blocks, Bytes: s.bytes, Samples: s.samples,
		HeadSeq: s.head, NextSeq: s.next, Split: q.split, Backlog: q.backlogLocked(),
		OldestTime: s.oldestTime, NewestTime: s.newestTime,
		DroppedBlocks: s.droppedBlocks, DroppedSamples: s.droppedSamples,
		Corrupt: s.corrupt, DiskBytes: s.diskBytes,
		RetainedBlocks: q.ret.blocks, RetainedBytes: q.ret.bytes, RetainedGroup: q.ret.group,
		RetainedDropped: q.ret.dropped,
	}
}

func (q *Queue) refreshDisk(now time.Time) {
	n := diskUsage(q.dir)
	q.mu.Lock()
	q.st.diskBytes, q.diskAt = n, now
	q.mu.Unlock()
}

// Wait returns nil once a block with Seq > after is stored, ctx.Err() when
// ctx ends first, ErrClosed when the queue is closed.
func (q *Queue) Wait(ctx context.Context, after uint64) error {
	for {
		q.mu.Lock()
		ok := q.st.blocks > 0 && q.st.next-1 > after
		ch := q.notify
		q.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-q.done:
			return ErrClosed
		}
	}
}

// Close waits for running operations and closes the database. It is
// idempotent.
func (q *Queue) Close() error {
	q.life.Lock()
	defer q.life.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	close(q.done)
	<-q.compact.idle
	if err := q.db.Close(); err != nil {
		return fmt.Errorf("close queue at %q: %w", q.dir, err)
	}
	return nil
}

// enter starts an operation; the caller must call q.life.RUnlock when it
// returns nil.
func (q *Queue) enter() error {
	q.life.RLock()
	if q.closed {
		q.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// countCorrupt records a corrupt block once.
func (q *Queue) countCorrupt(seq uint64, err error) {
	q.mu.Lock()
	fresh := seq > q.st.corruptMax
	if fresh {
		q.st.corrupt++
		q.st.corruptMax = seq
	}
	q.mu.Unlock()
	if fresh {
		q.log.Warn("corrupt block skipped", "seq", seq, "err", err)
	}
}
