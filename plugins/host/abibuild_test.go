package host

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerelay/edgerelay/relay/config"
)

// abiModules are the plugins of the ABI test suite, built from source with
// one SDK: dropprefix (series-level, the example in wasm-examples) and
// scale (sample-level) and emit (stream), both in testdata/abi.
type abiModules struct {
	dropprefix, scale, emit string
}

// buildABIModules builds the suite's plugins for lang ("go" or "c") into a
// temp dir. Go needs only the Go toolchain. C needs Debian's clang-14,
// lld-14, wasi-libc and libclang-rt-14-dev-wasm32: without them the test
// skips, except under CI (CI=true), where .ci/run installs them and a
// missing compiler is a failure rather than a silently unexercised SDK.
func buildABIModules(t testing.TB, lang string) abiModules {
	t.Helper()
	dir := t.TempDir()
	m := abiModules{dropprefix: filepath.Join(dir, "dropprefix.wasm"), scale: filepath.Join(dir, "scale.wasm")}
	switch lang {
	case "go":
		goBuildWasm(t, "../../wasm-examples/dropprefix/go", m.dropprefix)
		goBuildWasm(t, "./testdata/abi/scale", m.scale)
		m.emit = filepath.Join(dir, "emit.wasm")
		goBuildWasm(t, "./testdata/abi/emit", m.emit)
	case "c":
		cc := cWasmCompiler(t)
		clangBuildWasm(t, cc, m.dropprefix, "../../wasm-examples/dropprefix/dropprefix.c")
		clangBuildWasm(t, cc, m.scale, "testdata/abi/scale.c")
		m.emit = filepath.Join(dir, "emit.wasm")
		clangBuildWasm(t, cc, m.emit, "testdata/abi/emit.c")
	default:
		t.Fatalf("BUG: no SDK for %q", lang)
	}
	return m
}

func goBuildWasm(t testing.TB, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// cWasmCompiler returns clang-14 when it can build a wasm32-wasi reactor.
func cWasmCompiler(t testing.TB) string {
	t.Helper()
	const hint = "the C SDK needs clang-14 with wasi-libc (apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32; .ci/run installs them)"
	cc, err := exec.LookPath("clang-14")
	if err == nil {
		_, err = exec.LookPath("wasm-ld-14")
	}
	if err == nil {
		_, err = os.Stat("/usr/include/wasm32-wasi/stdlib.h")
	}
	if err == nil {
		if rt, _ := filepath.Glob("/usr/lib/llvm-14/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(rt) == 0 {
			err = errors.New("no libclang_rt.builtins-wasm32.a")
		}
	}
	if err == nil {
		return cc
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: %v", hint, err)
	}
	t.Skipf("skipping the C SDK: %s: %v", hint, err)
	return ""
}

// clangBuildWasm compiles a plugin with the C SDK: the build line of
// sdk/c/README.md and wasm-examples/build.sh.
func clangBuildWasm(t testing.TB, cc, out string, srcs ...string) {
	t.Helper()
	args := []string{"--target=wasm32-wasi", "--sysroot=/usr", "-isystem", "/usr/include/wasm32-wasi",
		"-L/usr/lib/wasm32-wasi", "-mexec-model=reactor", "-O2", "-s", "-Wall", "-Wextra", "-Werror",
		"-I", "../../sdk/c", "-o", out}
	args = append(append(args, srcs...), cSDKSources(t)...)
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("clang-14 %v: %v\n%s", srcs, err, b)
	}
}

// cSDKSources are the C SDK's .c files, which every C plugin is built with.
func cSDKSources(t testing.TB) []string {
	t.Helper()
	srcs, err := filepath.Glob("../../sdk/c/edgerelay*.c")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no C SDK sources in ../../sdk/c: %v", err)
	}
	return srcs
}

// TestCSDKNeedsOneFunction: a C plugin naming more than one of a series, a
// samples and a stream function (or none) fails to load with the reason, as
// Go's sdk.Register refuses it.
func TestCSDKNeedsOneFunction(t *testing.T) {
	cc := cWasmCompiler(t)
	for name, def := range map[string]string{"both": "{.series = f, .samples = g}", "neither": "{0}",
		"samples and stream": "{.samples = g, .stream = h}", "all": "{.series = f, .samples = g, .stream = h}"} {
		src := filepath.Join(t.TempDir(), strings.ReplaceAll(name, " ", "_")+".c")
		code := "#include \"edgerelay.h\"\nvoid f(er_series *s) { (void)s; }\nint g(er_samples *s) { (void)s; return 0; }\n" +
			"int h(er_stream *s) { (void)s; return 0; }\nconst er_plugin er_plugin_def = " + def + ";\n"
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		wasm := filepath.Join(t.TempDir(), "m.wasm")
		clangBuildWasm(t, cc, wasm, src)
		_, err := NewChain(context.Background(), []config.PluginConfig{abiStage(t, name, wasm, "", "")}, Options{})
		if err == nil || !strings.Contains(err.Error(), "exactly one of series, samples and stream") {
			t.Errorf("%s: NewChain = %v; want it refused", name, err)
		}
	}
}
