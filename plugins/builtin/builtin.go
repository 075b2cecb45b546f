// Package builtin embeds the WebAssembly modules edgerelay ships
// (compiled from wasm-examples/ by wasm-examples/build.sh and committed), so
// the binary needs no plugin files on disk. Its values are read-only and
// safe for concurrent use.
package builtin

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.wasm
var modules embed.FS

// Lookup returns the module named name ("relabel" for builtin:relabel).
func Lookup(name string) ([]byte, bool) {
	if strings.ContainsAny(name, "/\\.") {
		return nil, false
	}
	b, err := modules.ReadFile(name + ".wasm")
	return b, err == nil
}

// Names lists the built-in modules.
func Names() []string {
	ents, _ := fs.ReadDir(modules, ".")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".wasm"))
	}
	sort.Strings(names)
	return names
}
