// Package chained is the envelope a cloud relay forwarding upstream
// (cloud.chain, region → global) puts around each block it passes on: the
// block as its edge's credential vouched for it (tenant, site, whole
// batches, an "ERB" container of package internal/wire/block) and the
// block's identity in its edge's queue (queue id and sequence number), so
// the next cloud deduplicates by the edge's own (queue id, seq) and writes
// every block once however often a relay resends it.
//
// Layout (big-endian): "ERC", version 1 (1 byte), queue id (8 bytes),
// seq (8 bytes), then the block to the end. docs/protocol.md, section
// "Chained blocks", specifies it; change the two together.
//
// Encode and Decode are safe for concurrent use.
package chained

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	magic      = "ERC"
	version1   = 1
	headerSize = len(magic) + 1 + 8 + 8
)

// ErrCorrupt is wrapped by every decoding error caused by the input bytes.
var ErrCorrupt = errors.New("corrupt chained block")

// Encode appends the envelope of block (queue id and seq of its edge's
// queue) to dst.
func Encode(dst []byte, queueID, seq uint64, block []byte) []byte {
	dst = append(dst, magic...)
	dst = append(dst, version1)
	dst = binary.BigEndian.AppendUint64(dst, queueID)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	return append(dst, block...)
}

// Decode splits an envelope; block aliases b.
func Decode(b []byte) (queueID, seq uint64, block []byte, err error) {
	if len(b) < headerSize {
		return 0, 0, nil, fmt.Errorf("%w: %d bytes, a header is %d", ErrCorrupt, len(b), headerSize)
	}
	if string(b[:len(magic)]) != magic {
		return 0, 0, nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:len(magic)])
	}
	if v := b[len(magic)]; v != version1 {
		return 0, 0, nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, v)
	}
	p := b[len(magic)+1:]
	return binary.BigEndian.Uint64(p), binary.BigEndian.Uint64(p[8:]), p[16:], nil
}
