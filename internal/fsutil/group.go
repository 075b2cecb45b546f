package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit: many writers' files made durable by one barrier.
//
// A writer that needs files durable before it answers (the cloud
// acknowledging a block) writes them without fsync and then calls Sync on
// the Barrier of their filesystem with the paths it needs durable (files,
// and the directories whose entries it created, renamed or removed). Sync
// returns once a barrier that began after the call has completed: with
// syncfs (Linux 5.8 and later, where syncfs(2) reports write errors) one
// syncfs of the whole filesystem; otherwise one fsync of every path given
// for that barrier, each once however many writers named it. While a
// barrier runs, the writers that arrive meanwhile wait for the next one,
// which then covers them all; so under load the cost of durability is one
// barrier per Window or per barrier's duration, not one chain of fsyncs
// per writer.
//
// What a crash leaves is the caller's to order: a file that must be whole
// before a rename makes it visible is synced by one Sync, the rename done,
// and the rename made durable by another.

// Barrier makes what many writers wrote to one filesystem durable
// together. It is safe for concurrent use.
type Barrier struct {
	fd *os.File // a directory on the filesystem, for syncfs; nil: fsync each path
	// window is how long a barrier waits, from its first writer, for more
	// writers before it starts, when the barrier before it was shared: a
	// lone stream of writers (one site catching up) never waits for others
	// that are not there.
	window time.Duration
	shared bool // the last barrier covered more than one writer

	mu      sync.Mutex
	next    *round // collecting writers; nil: none waiting
	running bool   // a goroutine is running barriers

	rounds, writers atomic.Uint64
	// do runs one barrier: b.barrier, or a test's stand-in; sleep waits
	// the window: time.Sleep, or a test's.
	do    func(*round) error
	sleep func(time.Duration)
}

// round is one barrier and the writers it covers.
type round struct {
	writers int
	paths   map[string]struct{} // fsync mode: what to sync
	done    chan struct{}
	err     error
}

// barriers holds one Barrier per filesystem (device), shared by every
// caller of BarrierFor: one syncfs serves them all.
var barriers struct {
	mu sync.Mutex
	m  map[uint64]*Barrier
}

// BarrierFor returns the Barrier of the filesystem dir is on, creating it
// the first time; window is that of the first caller (see Barrier).
func BarrierFor(dir string, window time.Duration) (*Barrier, error) {
	dev, err := device(dir)
	if err != nil {
		return nil, err
	}
	barriers.mu.Lock()
	defer barriers.mu.Unlock()
	if b := barriers.m[dev]; b != nil {
		return b, nil
	}
	b, err := NewBarrier(dir, window)
	if err != nil {
		return nil, err
	}
	if barriers.m == nil {
		barriers.m = map[uint64]*Barrier{}
	}
	barriers.m[dev] = b
	return b, nil
}

// NewBarrier returns a Barrier of its own for the filesystem dir is on.
// Barriers are not closed: BarrierFor keeps one per filesystem for the
// life of the process.
func NewBarrier(dir string, window time.Duration) (*Barrier, error) {
	b := &Barrier{window: window, sleep: time.Sleep}
	b.do = b.barrier
	if syncfsWorks() {
		f, err := os.Open(dir)
		if err != nil {
			return nil, fmt.Errorf("open %q: %w", dir, err)
		}
		b.fd = f
	}
	return b, nil
}

// Sync returns once everything written before the call to paths (and, by
// syncfs, to the whole filesystem) is durable, or the barrier's error. A
// path removed meanwhile is skipped.
func (b *Barrier) Sync(paths ...string) error {
	b.mu.Lock()
	b.writers.Add(1) // under the lock: counted, it is in its round
	r := b.next
	if r == nil {
		r = &round{done: make(chan struct{})}
		b.next = r
	}
	r.writers++
	if b.fd == nil {
		if r.paths == nil {
			r.paths = map[string]struct{}{}
		}
		for _, p := range paths {
			r.paths[p] = struct{}{}
		}
	}
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	<-r.done
	return r.err
}

// run runs barriers while writers wait for one.
func (b *Barrier) run() {
	for {
		b.mu.Lock()
		wait := b.window > 0 && b.shared && b.next != nil
		b.mu.Unlock()
		if wait {
			b.sleep(b.window)
		}
		b.mu.Lock()
		r := b.next
		b.next = nil
		if r == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.shared = r.writers > 1
		b.mu.Unlock()
		r.err = b.do(r)
		b.rounds.Add(1)
		close(r.done)
	}
}

// barrier makes r's writes durable.
func (b *Barrier) barrier(r *round) error {
	if b.fd != nil {
		if err := syncfs(b.fd); err != nil {
			return fmt.Errorf("syncfs %q: %w", b.fd.Name(), err)
		}
		return nil
	}
	var errs []error
	for p := range r.paths {
		if err := syncPath(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncPath fsyncs the file or directory at p.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %q: %w", p, err)
	}
	return nil
}

// Stats are the barriers run and the Sync calls they answered since the
// Barrier was made: writers per barrier is how much was shared.
func (b *Barrier) Stats() (barriers, writers uint64) {
	return b.rounds.Load(), b.writers.Load()
}

// Syncfs reports whether the Barrier syncs the whole filesystem (syncfs)
// rather than each path.
func (b *Barrier) Syncfs() bool { return b.fd != nil }

// WriteFileShared is WriteFile with its two syncs (the temporary file
// before the rename, the directory after) done by barrier b, shared with
// every other writer of the moment: the same guarantees, at a fraction of
// the fsyncs when many files are replaced at once.
func WriteFileShared(b *Barrier, path string, data []byte, perm os.FileMode) error {
	return replace(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, b)
}
