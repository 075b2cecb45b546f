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
	frame   []byte
}

// load reads the archive's index once; a binary built before build.sh ran
// has no archive, and so no modules.
var load = sync.OnceValues(func() (index, error) {
	z, err := modules.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return index{}, nil
	}
	if err != nil {
		return index{}, err
	}
	entries, frame, err := archive.Index(z)
	return index{entries, frame}, err
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
		b, err := archive.Extract(ix.frame, e)
		if err != nil {
			panic(fmt.Sprintf("BUG: embedded module %s: %v", name, err))
		}
		return b, true
	}
	return nil, false
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
