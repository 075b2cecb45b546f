// Package builtin embeds the WebAssembly modules edgerelay ships (compiled
// from wasm-examples/ by wasm-examples/build.sh, which make runs before
// building, into modules/<name>.wasm.zst, zstd-compressed; they are not
// committed), so the binary needs no plugin files on disk.
// Compressed, the three Go-compiled modules take about a fifth of the bytes
// they take as they are; Lookup decompresses one each time it is asked, so a
// running edge holds only the modules its configuration names. Its values are
// read-only and safe for concurrent use.
package builtin

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// modules holds modules/README.md and whatever build.sh wrote beside it.
//
//go:embed modules
var modules embed.FS

// dir is where the modules are in the embedded tree.
const dir = "modules"

// suffix is what build.sh appends to a module's name.
const suffix = ".wasm.zst"

// maxModule bounds a decompressed module; Go-compiled ones are about 4 MiB.
const maxModule = 64 << 20

var decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxModule))
})

// Lookup returns the module named name ("relabel" for builtin:relabel),
// decompressed.
func Lookup(name string) ([]byte, bool) {
	if strings.ContainsAny(name, "/\\.") {
		return nil, false
	}
	z, err := modules.ReadFile(dir + "/" + name + suffix)
	if err != nil {
		return nil, false
	}
	b, err := decompress(z)
	if err != nil {
		panic(fmt.Sprintf("BUG: embedded module %s: %v", name, err))
	}
	return b, true
}

func decompress(z []byte) ([]byte, error) {
	d, err := decoder()
	if err != nil {
		return nil, err
	}
	return d.DecodeAll(z, nil)
}

// Names lists the built-in modules.
func Names() []string {
	ents, _ := fs.ReadDir(modules, dir)
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), suffix); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
