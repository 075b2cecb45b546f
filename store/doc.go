// Package store is edgerelay's store-and-forward queue: a durable,
// crash-safe FIFO of opaque byte blocks in one directory, backed by Badger
// (this is the only package that imports Badger).
//
// Append makes blocks durable before it returns; the forwarder Reads from
// the head, ships, and AckThroughs what the cloud has made durable. An
// acknowledgement is written but not synced (half of an edge's syncs were
// acknowledgements): it reaches the disk with the next append, cursor or
// memtable flush, so a power loss can bring back blocks acknowledged just
// before it, which the cloud acknowledges again without applying them. A
// kill of the process loses nothing written. Stats
// says what is stored, Wait waits for more, Export writes a bundle. A
// queue may be split into a backlog and a live lane (lanes.go): StartLane
// and AckRange are the two lane operations, and package relay/lanes, which
// decides when to split and how each lane is read, is their only user. Each
// block gets a sequence number (Seq) starting at 1 that never repeats for
// the life of the directory; the next Seq is persisted, so ids stay
// monotonic even after everything was acknowledged and the process
// restarted. A MaxBytes cap deletes the oldest blocks first, counted in
// Stats and reported to Options.OnDrop.
//
// Concurrency: every method of Queue is safe for concurrent use. Appends
// are group-committed: concurrent callers queue their records and one of
// them writes all pending records in one synced Badger transaction, so N
// concurrent appenders share one fsync. Read never blocks writers (Badger
// snapshots). Close waits for running calls.
//
// # Layout
//
// Each block has a small meta record (version, length, chunk count,
// samples, time, CRC32C of the data, CRC32C of the meta) under key
// 'm'+seq and its data under 'd'+seq+chunk, split in chunks of at most
// 128 KiB. Meta and data live under separate prefixes, so rebuilding Stats
// on Open reads only the meta records. A commit marker (the next Seq) is
// written in the last transaction of every group commit; on Open any key at
// or past it (an append interrupted between transactions) is deleted, which
// keeps each Append all-or-nothing even when it spans several transactions.
// The acknowledged Seq is persisted the same way, and every scan starts
// there, so deleted keys (tombstones until compaction) are never walked.
// A block whose meta or data fails its checksum is skipped, counted in
// Stats.Corrupt and logged; the rest of the queue survives.
//
// # Why these Badger settings
//
// Badger's defaults (64 MiB memtables x5, 1 GiB value-log files, 256 MiB
// block cache) let a steady queue of 64 KiB blocks grow to 3.9 GB RSS. Here
// every block byte lives in the LSM tree: values up to 256 KiB are kept
// inline (ValueThreshold) and no value is ever longer than a 128 KiB chunk,
// so the value log stays empty and value-log GC — which never reclaims the
// active file — is never needed; deleted blocks are reclaimed by ordinary
// compaction. Badger refuses a ValueThreshold above 15% of MemTableSize
// (its per-transaction limit), which is what the memtable size is chosen
// against (badger.go: two memtables of 2 MiB, so one transaction holds
// ~300 KB and a larger group commit costs one fsync per transaction).
// Splitting blocks in chunks, rather than sizing the memtable for the
// largest block, is what lets MaxBlockBytes default to 4 MiB (up to
// 256 MiB) without growing memory. There is no block cache and no
// compression (blocks arrive compressed). Badger runs no compactor of its
// own: each of its compactors wakes every 50 ms, so the queue compacts
// instead, only after a write made a level due (compact.go); an idle queue
// never wakes. Badger's logger goes to slog at warning level (info and
// debug dropped).
//
// Memory: under load (16 appenders of 64 KiB blocks plus a reader) the
// package's Go heap is dominated by Badger's memtable arenas and table
// builders; with GOMEMLIMIT=48MiB the whole test process peaked near
// 60-75 MiB RSS, without a limit near 100-180 MiB, so the binary should set
// a memory limit.
package store
