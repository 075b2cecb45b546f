package host

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestCommittedModulesCurrent rebuilds every committed .wasm with
// wasm-examples/build.sh into a temp dir and compares bytes: Go's wasm
// output is reproducible with -trimpath and the same toolchain, and so are
// clang's and wat2wasm's. The built-ins (.wasm.zst) are compared
// decompressed, since the zstd command and Go's encoder compress alike
// modules differently. Run wasm-examples/build.sh when it fails.
func TestCommittedModulesCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the modules")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain on PATH")
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "../../wasm-examples/build.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	var checked int
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".wasm") || strings.HasSuffix(p, ".wasm.zst")) {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		fresh, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		committed, err := os.ReadFile(filepath.Join("../..", rel))
		if err != nil {
			t.Errorf("%s is not committed: run wasm-examples/build.sh", rel)
			return nil
		}
		if strings.HasSuffix(p, ".zst") {
			fresh, committed = unzstd(t, fresh), unzstd(t, committed)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s is stale (%d bytes committed, %d rebuilt): run wasm-examples/build.sh", rel, len(committed), len(fresh))
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 3 {
		t.Fatalf("checked %d modules; want at least the 3 built-ins", checked)
	}
	t.Logf("%d modules current", checked)
}

func unzstd(t *testing.T, z []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b, err := d.DecodeAll(z, nil)
	if err != nil {
		t.Fatalf("decompress: %v", err)
	}
	return b
}
