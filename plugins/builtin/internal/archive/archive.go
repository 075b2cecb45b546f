// Package archive reads and writes the one file holding edgerelay's built-in
// WebAssembly modules (plugins/builtin/modules/README.md describes it): a
// zstd skippable frame whose payload is the index, one line per module,
// "<name> <offset> <length>" in decimal, followed by one zstd frame of the
// modules concatenated in the index's order. Compressed together, a module
// finds the Go runtime and standard library the one before it already
// carried, so the three take half the bytes they take compressed apart.
package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Magic is the skippable frame's magic number, little-endian in the file
// (zstd's skippable frames are 0x184D2A50 to 0x184D2A5F).
const Magic = 0x184D2A50

// MaxWindow bounds the decoder's window, and so what it holds in memory
// besides the module it returns: the zstd command at level 19 (or with
// --long) and the Go encoder in cmd pack use one window the size of the
// modules together when that is smaller, about 12 MiB for the three.
const MaxWindow = 32 << 20

// Entry is one module's place in the decompressed stream.
type Entry struct {
	Name           string
	Offset, Length int64
}

// Header is the skippable frame holding the index of entries.
func Header(entries []Entry) []byte {
	var idx bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&idx, "%s %d %d\n", e.Name, e.Offset, e.Length)
	}
	h := binary.LittleEndian.AppendUint32(nil, Magic)
	h = binary.LittleEndian.AppendUint32(h, uint32(idx.Len()))
	return append(h, idx.Bytes()...)
}

// maxIndex bounds the index a reader is trusted with: three lines need
// well under a hundred bytes.
const maxIndex = 64 << 10

// Index parses the index at the start of an archive; the archive's zstd
// frame is what follows it. A missing or malformed index is an error.
func Index(archive []byte) (entries []Entry, frame []byte, err error) {
	r := bytes.NewReader(archive)
	if entries, err = ReadIndex(r); err != nil {
		return nil, nil, err
	}
	return entries, archive[len(archive)-r.Len():], nil
}

// ReadIndex reads the index at the start of an archive from r, leaving r
// at the start of the zstd frame (which Extract reads), so that an archive
// need not be held in memory to be read.
func ReadIndex(r io.Reader) ([]Entry, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil || binary.LittleEndian.Uint32(h[:]) != Magic {
		return nil, errors.New("no index frame at the start")
	}
	n := binary.LittleEndian.Uint32(h[4:])
	if n > maxIndex {
		return nil, fmt.Errorf("index of %d bytes: more than %d", n, maxIndex)
	}
	idx := make([]byte, n)
	if _, err := io.ReadFull(r, idx); err != nil {
		return nil, fmt.Errorf("index of %d bytes: %w", n, err)
	}
	var entries []Entry
	var end int64
	for i, line := range strings.Split(strings.TrimSuffix(string(idx), "\n"), "\n") {
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("index line %d: %w", i+1, err)
		}
		if e.Offset != end {
			return nil, fmt.Errorf("index line %d: %s at offset %d, want %d", i+1, e.Name, e.Offset, end)
		}
		end += e.Length
		entries = append(entries, e)
	}
	return entries, nil
}

func parseEntry(line string) (Entry, error) {
	f := strings.Fields(line)
	if len(f) != 3 || strings.ContainsAny(f[0], "/\\.") {
		return Entry{}, fmt.Errorf("%q is not <name> <offset> <length>", line)
	}
	off, err1 := strconv.ParseInt(f[1], 10, 64)
	n, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || off < 0 || n <= 0 {
		return Entry{}, fmt.Errorf("%q is not <name> <offset> <length>", line)
	}
	return Entry{Name: f[0], Offset: off, Length: n}, nil
}

// Extract decompresses the frame read from r up to the end of e and
// returns e's bytes only; the decoder's window is bounded by MaxWindow.
func Extract(frame io.Reader, e Entry) ([]byte, error) {
	d, err := zstd.NewReader(frame, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(MaxWindow), zstd.WithDecoderMaxMemory(MaxWindow))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if _, err := io.CopyN(io.Discard, d, e.Offset); err != nil {
		return nil, fmt.Errorf("%s: skip %d bytes: %w", e.Name, e.Offset, err)
	}
	b := make([]byte, e.Length)
	if _, err := io.ReadFull(d, b); err != nil {
		return nil, fmt.Errorf("%s: read %d bytes at %d: %w", e.Name, e.Length, e.Offset, err)
	}
	return b, nil
}
