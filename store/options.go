package store

import (
	"errors"
	"fmt"
	"log/slog"
)

// Sentinel errors callers decide on with errors.Is.
var (
	// ErrTooLarge is returned by Append for a record longer than
	// Options.MaxBlockBytes, or for a call whose records together exceed
	// Options.MaxBytes. Nothing of the call is stored.
	ErrTooLarge = errors.New("block too large for the queue")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("closed")
	// ErrUnavailable wraps disk-full and I/O errors from Append and
	// AckThrough: the call did not take effect and may be retried. The
	// edge refuses a batch it could not append as relay.ErrQueueFull, so
	// remote_write answers 503.
	ErrUnavailable = errors.New("queue cannot take the batch")
)

// DefaultMaxBlockBytes is the largest block Append accepts when
// Options.MaxBlockBytes is zero. Blocks larger than one chunk are split over
// several keys, so this bound is about memory per call, not about Badger.
const DefaultMaxBlockBytes = 4 << 20

// maxMaxBlockBytes bounds Options.MaxBlockBytes: a block is read back whole
// into memory.
const maxMaxBlockBytes = 256 << 20

// Options configure a Queue. The zero value is usable.
type Options struct {
	// MaxBytes caps the stored block bytes (data only, not Badger's own
	// overhead); 0 means no cap. Past it the oldest blocks are deleted
	// first, counted in Stats and reported to OnDrop.
	MaxBytes int64
	// MaxBlockBytes is the largest block Append accepts; 0 means
	// DefaultMaxBlockBytes (4 MiB). At most 256 MiB.
	MaxBlockBytes int
	// Logger receives the queue's and Badger's warnings; nil means
	// slog.Default().
	Logger *slog.Logger
	// OnDrop, when set, is called (outside the queue's locks, from the
	// goroutine whose Append caused it) after blocks were deleted for the
	// MaxBytes cap. It is expected to count and log the drop; without it
	// the queue logs each drop itself. It must not call Close.
	OnDrop func(Dropped)
	// RetainBytes, when above 0, makes AckThrough keep the acknowledged
	// blocks of the newest acknowledged group (Record.Group, not 0) aside,
	// up to this many data bytes, for ReadRetained (retain.go); they count
	// neither in the backlog nor against MaxBytes. 0: none are kept.
	RetainBytes int64
	// SyncByCaller makes the queue's writes unsynced: Append returns once
	// the blocks are written to the page cache, and the caller makes them
	// durable itself before relying on them, by a syncfs(2) of the
	// queue's filesystem (fsutil.Barrier in syncfs mode, shared with the
	// caller's other writers). Acknowledgements and drops are unsynced too:
	// a power loss may bring back blocks acknowledged just before it. For
	// the cloud's remote_write queues, whose blocks the cloud's own
	// barriers make durable with its files; false (the default) syncs every
	// write.
	SyncByCaller bool
}

// Dropped describes blocks deleted to keep the queue under MaxBytes:
// Blocks blocks, Bytes data bytes and Samples samples, Seq FirstSeq through
// LastSeq.
type Dropped struct {
	Blocks            int
	Bytes             int64
	Samples           int64
	FirstSeq, LastSeq uint64
}

// Record is one block handed to Append. Data is opaque to the queue;
// Samples and Time (ms, newest sample time in the block) feed Stats.
//
// Group, when not zero, ties consecutive blocks together for the MaxBytes
// cap: once the cap deletes a block, it also deletes the blocks right after
// it with the same Group, so a group is never left with its head missing.
// The edge uses its delta generation: a block of incremental frames is
// useless without the blocks before it in the same generation.
type Record struct {
	Data    []byte
	Samples int
	Time    int64
	Group   uint64
}

// Block is one stored block as Read returns it.
type Block struct {
	Seq     uint64
	Data    []byte
	Samples int
	Time    int64
	Group   uint64
	Lane    uint8 // see Split
}

// Stats describes the queue now. It is kept in memory and rebuilt on Open
// from the per-block meta records, so Stats is cheap.
type Stats struct {
	// Blocks, Bytes and Samples are the stored backlog.
	Blocks  int
	Bytes   int64
	Samples int64
	// HeadSeq is the Seq of the oldest stored block, 0 when the queue is
	// empty. NextSeq is the Seq the next appended block gets.
	HeadSeq, NextSeq uint64
	// Split is where the live lane of the last split starts (the zero
	// Split: never split). Backlog is true while blocks before it remain:
	// the backlog lane is not drained yet.
	Split   Split
	Backlog bool
	// OldestTime is the Time of the oldest stored block, NewestTime the
	// largest Time of any stored block; both 0 when the queue is empty.
	OldestTime, NewestTime int64
	// DroppedBlocks and DroppedSamples count blocks deleted for MaxBytes
	// since Open.
	DroppedBlocks, DroppedSamples int64
	// Corrupt counts blocks found corrupt since Open (meta on Open, data on
	// Read); they are skipped, logged and deleted by the next AckThrough
	// past them.
	Corrupt int64
	// DiskBytes is what the queue directory occupies on disk (refreshed at
	// most every few seconds).
	DiskBytes int64
	// RetainedBlocks and RetainedBytes are the acknowledged blocks kept
	// aside (Options.RetainBytes), all of group RetainedGroup;
	// RetainedDropped counts those deleted past RetainBytes since Open.
	RetainedBlocks  int
	RetainedBytes   int64
	RetainedGroup   uint64
	RetainedDropped int64
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxBlockBytes == 0 {
		o.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if o.MaxBlockBytes < 0 || o.MaxBlockBytes > maxMaxBlockBytes {
		return o, fmt.Errorf("max_block_bytes must be in [1, %d]; got %d", maxMaxBlockBytes, o.MaxBlockBytes)
	}
	if o.MaxBytes < 0 {
		return o, fmt.Errorf("max_bytes must be >= 0; got %d", o.MaxBytes)
	}
	if o.RetainBytes < 0 {
		return o, fmt.Errorf("retain_bytes must be >= 0; got %d", o.RetainBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
