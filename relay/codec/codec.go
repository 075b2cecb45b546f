// Package codec encodes a relay.Block into the bytes the edge queues and
// ships, and decodes them on the cloud. The format is versioned and
// self-contained: every string of a block (label names and values, metadata,
// job and instance) is stored once in a string table and referenced by index,
// and the whole body is compressed with zstd.
//
// Layout, version 1 (all integers are unsigned varints unless said otherwise):
//
//	"ERB" version(1 byte) flags(1 byte, bit 0 = zstd body)  body
//	body:    tenant site nstrings {len bytes}… nbatches batch…
//	batch:   flags(bit 0 = scrape) job instance timestamp(zigzag)
//	         ntarget {name value}… nmeta {family type help unit}…
//	         nseries series…
//	series:  nlabels {name value}… nsamples {Δt(zigzag, against the previous
//	         sample, the first against the batch timestamp) value(8 bytes LE float bits)}…
//
// Version 2 appends the block's delta frames (package internal/wire/delta, see
// docs/protocol.md) to the version 1 body, inside the same zstd stream:
//
//	body v2: body v1  generation  nframes {len bytes}…
//
// Version 3 adds native histogram samples and exemplars to every series
// record (after its float samples), and the frames trailer of version 2
// is always present (nframes may be 0):
//
//	series v3: series v1  nhist {Δt(zigzag, as for samples) histogram}…
//	           nexemplars {nlabels {name value}… value(8 bytes) Δt(zigzag,
//	           against the batch timestamp) flags(bit 0 = HasTs)}…
//	histogram: kind(1 byte: 0 integer, 1 float) hint(1 byte, counter reset
//	           hint) schema(zigzag) zero_threshold(8 bytes)
//	           integer: zero_count count   float: zero_count(8) count(8)
//	           sum(8) npos {offset(zigzag) length}… nneg {…}…
//	           npb {bucket}… nnb {bucket}… ncustom {value(8 bytes)}…
//	bucket:    integer: zigzag varint (Prometheus' delta-coded buckets as they
//	           are); float: 8 bytes
//
// Floats are 8 bytes of little-endian IEEE bits. Encode writes version 1 for
// a block without frames, version 2 for one with frames, and version 3 only
// when a series carries histogram samples or exemplars, so blocks of plain
// float samples are byte for byte what earlier releases wrote.
//
// Names, values and the other strings in batch and series records are
// string-table indexes. A histogram that Prometheus' TSDB would refuse
// (ValidHistogram) makes the block corrupt. Decode checks every count and index against what
// is left of the input, so hostile bytes yield an error, never a panic or an
// allocation larger than the input allows.
//
// Encoder and Decoder values are safe for concurrent use.
package codec

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

const (
	magic      = "ERB"
	version1   = 1
	version2   = 2
	version3   = 3
	flagZstd   = 1 << 0
	headerSize = len(magic) + 2

	// MaxDecodedBytes bounds the size a block may decompress to.
	MaxDecodedBytes = 64 << 20
)

// ErrCorrupt is wrapped by every decoding error caused by the input bytes.
var ErrCorrupt = errors.New("corrupt block")

var (
	encoder, _ = zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(1<<20),
		// Blocks carry a CRC in the queue and AEAD on the wire; zstd's own
		// checksum would cost 4 bytes a block.
		zstd.WithEncoderCRC(false))
	decoder, _ = zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(MaxDecodedBytes),
		zstd.WithDecoderLowmem(true))
)

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
