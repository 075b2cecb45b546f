// Package builtin embeds the WebAssembly modules edgerelay ships (compiled
// from wasm-examples/ by wasm-examples/build.sh, which make runs before
// building, into modules/builtin.zst; they are not committed), so the binary
// needs no plugin files on disk.
// The archive holds the three Go-compiled modules compressed together as one
// zstd stream, about a ninth of their bytes (modules/README.md describes it);
// Lookup decompresses the stream up to the end of the module it is asked for
// and keeps that module only, so a running edge holds only the modules its
// configuration names. Its values are read-only and safe for concurrent use.
package builtin

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync"

	"github.com/edgerelay/edgerelay/plugins/builtin/internal/archive"
)

// modules holds modules/README.md and whatever build.sh wrote beside it.
//
//go:embed modules
var modules embed.FS

// file is the archive build.sh writes.
const file = "modules/builtin.zst"

type index struct {
	entries []archive.Entry
	frameAt int64 // where the zstd frame starts in the file
}

// load reads the archive's index once; a binary built before build.sh ran
// has no archive, and so no modules. The archive is read from the binary
// where it lies, never copied whole to the heap (1.3 MB).
var load = sync.OnceValues(func() (index, error) {
	f, err := modules.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return index{}, nil
	}
	if err != nil {
		return index{}, err
	}
	defer f.Close()
	entries, err := archive.ReadIndex(f)
	if err != nil {
		return index{}, err
	}
	at, err := f.(io.Seeker).Seek(0, io.SeekCurrent)
	return index{entries, at}, err
})

func loaded() index {
	ix, err := load()
	if err != nil {
		panic(fmt.Sprintf("BUG: embedded %s: %v", file, err))
	}
	return ix
}

// Lookup returns the module named name ("relabel" for builtin:relabel),
// decompressed.
func Lookup(name string) ([]byte, bool) {
	ix := loaded()
	for _, e := range ix.entries {
		if e.Name != name {
			continue
		}
		b, err := extract(ix, e)
		if err != nil {
			panic(fmt.Sprintf("BUG: embedded module %s: %v", name, err))
		}
		return b, true
	}
	return nil, false
}

// extract decompresses e from the embedded archive.
func extract(ix index, e archive.Entry) ([]byte, error) {
	f, err := modules.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.(io.Seeker).Seek(ix.frameAt, io.SeekStart); err != nil {
		return nil, err
	}
	return archive.Extract(f, e)
}

// Names lists the built-in modules.
func Names() []string {
	var names []string
	for _, e := range loaded().entries {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names
}
