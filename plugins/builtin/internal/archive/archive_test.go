package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// build is what cmd pack and build.sh write, for test data.
func build(t *testing.T, window int, mods map[string][]byte, order ...string) []byte {
	t.Helper()
	var all []byte
	var entries []Entry
	for _, n := range order {
		entries = append(entries, Entry{n, int64(len(all)), int64(len(mods[n]))})
		all = append(all, mods[n]...)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithWindowSize(window), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(all, Header(entries))
}

func TestRoundTrip(t *testing.T) {
	mods := map[string][]byte{
		"a": bytes.Repeat([]byte("runtime "), 5000),
		"b": []byte("\x00asm small"),
		"c": bytes.Repeat([]byte("runtime and c "), 7000),
	}
	z := build(t, 1<<20, mods, "a", "b", "c")
	entries, frame, err := Index(z)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Name != "a" || entries[1].Name != "b" || entries[2].Name != "c" {
		t.Fatalf("entries %+v", entries)
	}
	for _, e := range entries {
		got, err := Extract(bytes.NewReader(frame), e)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if !bytes.Equal(got, mods[e.Name]) {
			t.Errorf("%s: %d bytes, want the %d packed", e.Name, len(got), len(mods[e.Name]))
		}
	}
	// A module beyond the end of the stream is an error, not a short module.
	if _, err := Extract(bytes.NewReader(frame), Entry{"d", entries[2].Offset, entries[2].Length + 1}); err == nil {
		t.Error("Extract of a module past the stream's end: no error")
	}
}

// TestIndexRefused: an index that is not what Header writes is refused.
func TestIndexRefused(t *testing.T) {
	frame := func(idx string) []byte {
		h := binary.LittleEndian.AppendUint32(nil, Magic)
		h = binary.LittleEndian.AppendUint32(h, uint32(len(idx)))
		return append(h, idx...)
	}
	long := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, Magic), 100)
	for name, z := range map[string][]byte{
		"empty":         nil,
		"zstd frame":    {0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0},
		"index too big": append(long, "a 0 1\n"...),
		"two fields":    frame("a 0\n"),
		"gap":           frame("a 0 10\nb 11 10\n"),
		"overlap":       frame("a 0 10\nb 5 10\n"),
		"path":          frame("../a 0 10\n"),
		"empty module":  frame("a 0 0\n"),
		"negative":      frame("a -1 10\n"),
		"not a number":  frame("a 0 ten\n"),
		"no index":      frame(""),
	} {
		if e, _, err := Index(z); err == nil {
			t.Errorf("%s: Index accepted it: %+v", name, e)
		}
	}
}

// TestMaxWindow: a stream that would need more than MaxWindow bytes of
// memory, by its content size or by its declared window, is refused before
// the decoder allocates them.
func TestMaxWindow(t *testing.T) {
	big := make([]byte, MaxWindow+1)
	z := build(t, 2*MaxWindow, map[string][]byte{"big": big}, "big")
	entries, frame, err := Index(z)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = Extract(bytes.NewReader(frame), entries[0]); !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		t.Errorf("Extract of %d bytes: %v, want ErrDecoderSizeExceeded", len(big), err)
	}

	// Streamed, the frame names no content size, only its window.
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, zstd.WithWindowSize(2*MaxWindow), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		enc.Write(big[:1<<20])
		enc.Flush()
	}
	enc.Close()
	if _, err = Extract(bytes.NewReader(buf.Bytes()), Entry{"a", 0, 1}); !errors.Is(err, zstd.ErrWindowSizeExceeded) &&
		!errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		t.Errorf("Extract of a stream with a %d-byte window: %v, want it refused", 2*MaxWindow, err)
	}
}
