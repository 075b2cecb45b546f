package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Key layout. Every key starts with one prefix byte; sequence numbers are
// big-endian so keys sort in Seq order.
//
//	'c' "id"                 queue ID, 8 bytes, written once
//	'd' seq(8) chunk(4)      block data, chunk i of n, up to chunkSize bytes
//	'm' seq(8)               block meta (encodeMeta), ~37 bytes
//	'u' name                 a receiver's Cursor: acked u64, skip group u64 (cursors.go)
//	'z' "next"               next sequence number, 8 bytes (commit marker)
//	'z' "acked"              every Seq <= this was deleted, 8 bytes
//	'z' "split"              the lane split (lanes.go)
//	'z' "retain"             the retained run (retain.go)
//
// Meta and data live under different prefixes so that rebuilding Stats on
// Open iterates only the small meta keys. The keys rewritten by every
// commit or acknowledgement sort after all others: a table holding them
// then spans only the newest blocks, so compacting it rewrites only those,
// not the whole backlog below it (compact.go). Queues written before had
// them under 'c'; Open moves them (migrateKeys).
const (
	prefixMeta = 'm'
	prefixData = 'd'
)

var (
	keyID    = []byte("cid")
	keyNext  = []byte("znext")
	keyAcked = []byte("zacked")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func metaKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixMeta
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func dataKey(seq uint64, chunk uint32) []byte {
	k := make([]byte, 13)
	k[0] = prefixData
	binary.BigEndian.PutUint64(k[1:], seq)
	binary.BigEndian.PutUint32(k[9:], chunk)
	return k
}

// seqOfKey returns the Seq in a meta or data key.
func seqOfKey(k []byte) (uint64, bool) {
	if len(k) < 9 || (k[0] != prefixMeta && k[0] != prefixData) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1:9]), true
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func parseU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("want 8 bytes, got %d", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// meta is what the queue keeps per block besides its data.
type meta struct {
	Len     uint32 // data bytes
	Chunks  uint32 // data keys
	Samples int64
	Time    int64
	CRC     uint32 // CRC32C of the data
	Group   uint64 // Record.Group; 0 in version 1 records
}

const (
	metaVersion1 = 1
	metaVersion  = 2
	// metaSize1: version, len, chunks, samples, time, data crc, meta crc.
	metaSize1 = 1 + 4 + 4 + 8 + 8 + 4 + 4
	// metaSize: version 2 adds the group after the data crc.
	metaSize = metaSize1 + 8
)

var errCorrupt = errors.New("corrupt record")

func chunksFor(n int) uint32 {
	return uint32((n + chunkSize - 1) / chunkSize)
}

func newMeta(r Record) meta {
	return meta{
		Len:     uint32(len(r.Data)),
		Chunks:  chunksFor(len(r.Data)),
		Samples: int64(r.Samples),
		Time:    r.Time,
		CRC:     crc32.Checksum(r.Data, castagnoli),
		Group:   r.Group,
	}
}

func (m meta) encode() []byte {
	b := make([]byte, 0, metaSize)
	b = append(b, metaVersion)
	b = binary.LittleEndian.AppendUint32(b, m.Len)
	b = binary.LittleEndian.AppendUint32(b, m.Chunks)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Samples))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Time))
	b = binary.LittleEndian.AppendUint32(b, m.CRC)
	b = binary.LittleEndian.AppendUint64(b, m.Group)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeMeta parses a meta record of either version; it never trusts b.
func decodeMeta(b []byte) (meta, error) {
	if len(b) == 0 || (b[0] != metaVersion1 && b[0] != metaVersion) {
		return meta{}, fmt.Errorf("%w: meta version missing or unknown", errCorrupt)
	}
	size := metaSize
	if b[0] == metaVersion1 {
		size = metaSize1
	}
	if len(b) != size {
		return meta{}, fmt.Errorf("%w: version %d meta is %d bytes, want %d", errCorrupt, b[0], len(b), size)
	}
	if got, want := crc32.Checksum(b[:size-4], castagnoli), binary.LittleEndian.Uint32(b[size-4:]); got != want {
		return meta{}, fmt.Errorf("%w: meta checksum %08x, want %08x", errCorrupt, got, want)
	}
	m := meta{
		Len:     binary.LittleEndian.Uint32(b[1:]),
		Chunks:  binary.LittleEndian.Uint32(b[5:]),
		Samples: int64(binary.LittleEndian.Uint64(b[9:])),
		Time:    int64(binary.LittleEndian.Uint64(b[17:])),
		CRC:     binary.LittleEndian.Uint32(b[25:]),
	}
	if b[0] == metaVersion {
		m.Group = binary.LittleEndian.Uint64(b[29:])
	}
	if (m.Len == 0) != (m.Chunks == 0) || m.Chunks > m.Len || m.Samples < 0 || m.Samples > math.MaxInt32 {
		return meta{}, fmt.Errorf("%w: meta fields len=%d chunks=%d samples=%d", errCorrupt, m.Len, m.Chunks, m.Samples)
	}
	return m, nil
}

// checkData verifies data read back against its meta.
func (m meta) checkData(data []byte) error {
	if len(data) != int(m.Len) {
		return fmt.Errorf("%w: data is %d bytes, meta says %d", errCorrupt, len(data), m.Len)
	}
	if got := crc32.Checksum(data, castagnoli); got != m.CRC {
		return fmt.Errorf("%w: data checksum %08x, want %08x", errCorrupt, got, m.CRC)
	}
	return nil
}
