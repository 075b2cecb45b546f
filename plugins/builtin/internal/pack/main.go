// Command pack writes the archive of built-in modules plugins/builtin embeds
// (plugins/builtin/modules/README.md), with the Go encoder at its best level,
// where the zstd command is not installed:
//
//	go run ./plugins/builtin/internal/pack OUT relabel.wasm anonymize.wasm filter.wasm
//
// A module's name is its file's name without .wasm. The window covers the
// modules together (up to archive.MaxWindow), so each one's copy of the Go
// runtime is found in the one before it. The output depends only on the
// inputs, so rebuilding modules that did not change leaves it as it is.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerelay/edgerelay/plugins/builtin/internal/archive"
	"github.com/klauspost/compress/zstd"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: pack OUT MODULE.wasm...")
		os.Exit(2)
	}
	if err := pack(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func pack(out string, in []string) error {
	var all []byte
	var entries []archive.Entry
	for _, f := range in {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".wasm")
		entries = append(entries, archive.Entry{Name: name, Offset: int64(len(all)), Length: int64(len(b))})
		all = append(all, b...)
	}
	window := zstd.MinWindowSize
	for window < len(all) && window < archive.MaxWindow {
		window *= 2
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithWindowSize(window), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(true))
	if err != nil {
		return err
	}
	return os.WriteFile(out, enc.EncodeAll(all, archive.Header(entries)), 0o644)
}
