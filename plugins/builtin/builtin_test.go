package builtin

import (
	"bytes"
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	if got := Names(); !slices.Equal(got, []string{"anonymize", "filter", "relabel"}) {
		t.Fatalf("Names() = %v", got)
	}
	for _, name := range Names() {
		b, ok := Lookup(name)
		if !ok || !bytes.HasPrefix(b, []byte("\x00asm")) {
			t.Errorf("Lookup(%q) is not a wasm module", name)
		}
	}
	for _, bad := range []string{"", "../relabel", "relabel.wasm", "nope"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) found something", bad)
		}
	}
}
