// Package wire is edgerelay's wire format: what the edge queues and ships and
// the cloud decodes. It has two layers, each a package, both specified in
// docs/protocol.md:
//
//   - internal/wire/block: the block container ("ERB"), what one queue
//     record and one BLOCK message of the uplink hold: tenant, site, whole
//     batches and delta frames, zstd-compressed.
//   - internal/wire/delta: the per-target delta frames a block carries, and
//     the cloud's per-target bases they apply to.
//
// This package holds what the two share: Reader, the one reader of their
// untrusted bytes. It is standard library only, as package delta builds for
// GOOS=wasip1. The wire format is internal to edgerelay; what plugin authors
// import is package sdk.
package wire

import (
	"encoding/binary"
	"fmt"
)

// Reader reads the bytes of a block or a frame, checking every length and
// count against what is left of the input, so hostile bytes yield an error,
// never a panic or an allocation larger than the input allows. The first
// error sticks in Err, wrapping the sentinel given to NewReader, and empties
// Buf: every later read returns a zero value, so a decoder may read a whole
// record and check Err once. A Reader is not safe for concurrent use.
type Reader struct {
	// Buf is the input not read yet.
	Buf []byte
	// Err is the first error, nil while the input is well formed.
	Err     error
	corrupt error
}

// NewReader reads buf; every error it records wraps corrupt.
func NewReader(buf []byte, corrupt error) Reader {
	return Reader{Buf: buf, corrupt: corrupt}
}

// Fail records an error (unless one is recorded already) and empties the
// input.
func (r *Reader) Fail(format string, args ...any) {
	if r.Err == nil {
		r.Err = fmt.Errorf("%w: %s", r.corrupt, fmt.Sprintf(format, args...))
	}
	r.Buf = nil
}

// End returns Err, or an error if input is left.
func (r *Reader) End() error {
	if r.Err == nil && len(r.Buf) != 0 {
		r.Fail("%d trailing bytes", len(r.Buf))
	}
	return r.Err
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.Buf) == 0 {
		r.Fail("truncated")
		return 0
	}
	b := r.Buf[0]
	r.Buf = r.Buf[1:]
	return b
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.Buf)
	if n <= 0 {
		r.Fail("truncated varint")
		return 0
	}
	r.Buf = r.Buf[n:]
	return v
}

// Varint reads a zigzag varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.Buf)
	if n <= 0 {
		r.Fail("truncated varint")
		return 0
	}
	r.Buf = r.Buf[n:]
	return v
}

// Count reads an element count, each element taking at least minSize bytes
// (minSize ≥ 1): a count the rest of the input cannot hold is an error, so
// a caller may allocate for it.
func (r *Reader) Count(minSize int) int {
	v := r.Uvarint()
	if v > uint64(len(r.Buf)/minSize) {
		r.Fail("count %d exceeds remaining input", v)
		return 0
	}
	return int(v)
}

// Bytes returns the next n bytes of input, aliasing it.
func (r *Reader) Bytes(n int) []byte {
	if n > len(r.Buf) {
		r.Fail("section of %d bytes exceeds remaining input", n)
		return nil
	}
	b := r.Buf[:n]
	r.Buf = r.Buf[n:]
	return b
}

// Str reads a string: a uvarint length, then that many bytes (copied).
func (r *Reader) Str() string {
	n := r.Uvarint()
	if n > uint64(len(r.Buf)) {
		r.Fail("string length %d exceeds remaining input", n)
		return ""
	}
	s := string(r.Buf[:n])
	r.Buf = r.Buf[n:]
	return s
}

// Uint64 reads 8 bytes little-endian: the bits of a float64 on the wire.
// Running short of input is the error "truncated <what>".
func (r *Reader) Uint64(what string) uint64 {
	if len(r.Buf) < 8 {
		r.Fail("truncated %s", what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.Buf)
	r.Buf = r.Buf[8:]
	return v
}
