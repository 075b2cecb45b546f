package builtin

import (
	"context"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestLookup: each built-in module in the archive build.sh wrote comes out
// whole (wazero compiles it); names not in the index are refused.
func TestLookup(t *testing.T) {
	if got := Names(); !slices.Equal(got, []string{"anonymize", "filter", "relabel"}) {
		t.Fatalf("Names() = %v (run make bin/.wasm-built)", got)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, name := range Names() {
		b, ok := Lookup(name)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", name)
		}
		m, err := rt.CompileModule(ctx, b)
		if err != nil {
			t.Fatalf("Lookup(%q): wazero does not compile it: %v", name, err)
		}
		if _, ok := m.ExportedFunctions()["er_init"]; !ok {
			t.Errorf("Lookup(%q): no er_init export: %v", name, m.ExportedFunctions())
		}
	}
	for _, bad := range []string{"", "../relabel", "relabel.wasm", "relabel ", "Relabel", "nope", "builtin"} {
		if b, ok := Lookup(bad); ok || b != nil {
			t.Errorf("Lookup(%q) found %d bytes", bad, len(b))
		}
	}
}

// BenchmarkLookup: decompressing one module from the archive (filter, the
// last, decompresses the whole stream).
func BenchmarkLookup(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := Lookup(name); !ok {
					b.Fatal(name)
				}
			}
		})
	}
}
