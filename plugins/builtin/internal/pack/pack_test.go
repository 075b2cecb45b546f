package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerelay/edgerelay/plugins/builtin/internal/archive"
)

// TestPack: pack's archive names each module after its file and gives each
// back as it was.
func TestPack(t *testing.T) {
	dir := t.TempDir()
	mods := map[string][]byte{
		"relabel": bytes.Repeat([]byte("\x00asm relabel"), 3000),
		"filter":  bytes.Repeat([]byte("\x00asm filter"), 2000),
	}
	var in []string
	for _, n := range []string{"relabel", "filter"} {
		f := filepath.Join(dir, n+".wasm")
		if err := os.WriteFile(f, mods[n], 0o644); err != nil {
			t.Fatal(err)
		}
		in = append(in, f)
	}
	out := filepath.Join(dir, "builtin.zst")
	if err := pack(out, in); err != nil {
		t.Fatal(err)
	}
	z, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	entries, frame, err := archive.Index(z)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name != "relabel" || entries[1].Name != "filter" {
		t.Fatalf("entries %+v", entries)
	}
	for _, e := range entries {
		got, err := archive.Extract(bytes.NewReader(frame), e)
		if err != nil || !bytes.Equal(got, mods[e.Name]) {
			t.Errorf("%s: %d bytes, %v", e.Name, len(got), err)
		}
	}
}
