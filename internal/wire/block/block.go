// Package block encodes a relay.Block into the bytes the edge queues and
// ships, and decodes them on the cloud: the block container "ERB". The format
// is versioned and self-contained: every string of a block (label names and
// values, metadata, job and instance) is stored once in a string table and
// referenced by index, the block's delta frames (package internal/wire/delta)
// follow its batches, and the whole body is compressed with zstd.
//
// The byte layout — header and flags, versions 1 to 3, string table, batch and
// series records, histograms, exemplars and the frames trailer — is specified
// in docs/protocol.md, section "Block container". Change the two together.
//
// Encode writes version 1 for a block without frames, version 2 for one with
// frames, and version 3 only when a series carries histogram samples or
// exemplars, so blocks of plain float samples are byte for byte what earlier
// releases wrote. A histogram that Prometheus' TSDB would refuse
// (ValidHistogram) makes the block corrupt. Decode checks every count and
// index against what is left of the input, so hostile bytes yield an error,
// never a panic or an allocation larger than the input allows.
//
// Encode and Decode are safe for concurrent use.
package block

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
