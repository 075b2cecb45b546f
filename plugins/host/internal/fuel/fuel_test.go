package fuel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/edgerelay/edgerelay/plugins/builtin"
)

// seeds are the modules the host's tests use: WAT, C, and a Go built-in.
func seeds(tb testing.TB, withGo bool) map[string][]byte {
	tb.Helper()
	files, _ := filepath.Glob("../../testdata/*.wasm")
	files = append(files, "../../../../wasm-examples/dropprefix/dropprefix.wasm")
	out := map[string][]byte{}
	if withGo {
		b, _ := builtin.Lookup("filter")
		out["filter.wasm"] = b
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func compiles(wasm []byte) error {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	_, err := rt.CompileModule(ctx, wasm)
	return err
}

func TestInstrumentValid(t *testing.T) {
	for name, wasm := range seeds(t, !testing.Short()) {
		t.Run(name, func(t *testing.T) {
			out, err := Instrument(wasm)
			if err != nil {
				t.Fatal(err)
			}
			if err := compiles(out); err != nil {
				t.Fatalf("instrumented module does not compile: %v", err)
			}
			if !bytes.Contains(out, []byte(ImportModule)) {
				t.Error("no refill import")
			}
			if _, err := Instrument(out); err == nil || !strings.Contains(err.Error(), "reserves") {
				t.Errorf("instrumenting twice: err %v; want the reserved import refused", err)
			}
		})
	}
}

func TestInstrumentRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "",
		"text":           "(module)",
		"truncated":      "\x00asm\x01\x00\x00\x00\x01\x05\x01",
		"unknown opcode": "\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x05\x01\x03\x00\x06\x0b",
		"bad section":    "\x00asm\x01\x00\x00\x00\x0e\x00",
	} {
		if _, err := Instrument([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzInstrument checks the instrumenter never panics on random module
// bytes, and that whatever compiles before instrumentation still does.
func FuzzInstrument(f *testing.F) {
	for _, b := range seeds(f, false) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := Instrument(wasm)
		if err != nil || len(wasm) > 1<<16 {
			return
		}
		if compiles(wasm) == nil {
			if err := compiles(out); err != nil {
				t.Fatalf("a module that compiles does not after instrumentation: %v", err)
			}
		}
	})
}
