package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Badger settings. Badger's defaults (64 MiB memtables x5, 1 GiB value-log
// files, 256 MiB block cache) let a steady queue of 64 KiB blocks reach
// 3.9 GB RSS; these keep every block in the LSM tree and memory small.
const (
	// memTableSize is the size of one memtable (two are kept). Badger
	// caps one transaction at 15% of it (maxTxnBytes), and a group commit
	// that fits one transaction costs one fsync. Each memtable is an
	// arena of about 1.3 times this on the Go heap, and a flush builds
	// a table of its size in memory: an edge's queue takes ~100 KB/s, so
	// 2 MiB keeps the queue's share of the heap small at one fsync per
	// ~250 KB of a burst.
	memTableSize = 2 << 20
	// maxTxnBytes is Badger's per-transaction limit for memTableSize.
	maxTxnBytes = 15 * memTableSize / 100
	// chunkSize is the largest value written under one key: blocks longer
	// than this are split over several data keys. It is well under
	// valueThreshold, so no block byte ever goes to the value log (whose
	// garbage collection never reclaims the active file).
	chunkSize = 128 << 10
	// valueThreshold keeps values up to it inline in the LSM tree; Badger
	// refuses to open when it exceeds maxTxnBytes.
	valueThreshold = 256 << 10
	// groupBytes bounds the data of one group commit, so a group normally
	// fits in one transaction.
	groupBytes = maxTxnBytes - 64<<10
)

// badgerOptions are the queue's Badger options. Badger syncs nothing by
// itself (SyncWrites off): the queue syncs the writes that must be durable
// when they return (Queue.syncDB), and leaves acknowledgements to reach the
// disk with the next of those.
func badgerOptions(dir string, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(slogAdapter{log}).
		WithSyncWrites(false).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithMemTableSize(memTableSize).
		WithNumMemtables(2).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(16 << 20).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithCompression(options.None).
		WithBaseLevelSize(1 << 40). // level 0 merges into the last level (compact.go)
		WithNumCompactors(0)        // the queue compacts (compact.go)
}

// removeEmptyMemtables deletes the memtable files (*.mem) of dir that are
// empty. Badger creates one before writing to it, so a kill in between
// leaves an empty file, which holds nothing but makes badger.Open fail
// ("while opening memtables ... Create a new file") until something
// removes or grows it.
func removeEmptyMemtables(dir string) error {
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	if err != nil {
		return err
	}
	for _, m := range mems {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			continue
		}
		if err := os.Remove(m); err != nil {
			return fmt.Errorf("remove empty memtable file: %w", err)
		}
	}
	return nil
}

// slogAdapter routes Badger's logger to slog: errors and warnings pass,
// info and debug are dropped.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Errorf(f string, v ...any) { a.log(slog.LevelError, f, v) }

func (a slogAdapter) Warningf(f string, v ...any) { a.log(slog.LevelWarn, f, v) }

func (a slogAdapter) Infof(string, ...any) {}

func (a slogAdapter) Debugf(string, ...any) {}

func (a slogAdapter) log(lvl slog.Level, f string, v []any) {
	if !a.l.Enabled(context.Background(), lvl) {
		return
	}
	a.l.Log(context.Background(), lvl, strings.TrimSpace(fmt.Sprintf(f, v...)), "component", "badger")
}
