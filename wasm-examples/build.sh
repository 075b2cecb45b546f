#!/bin/sh
# Builds every WebAssembly module edgerelay uses (none is committed; make runs
# this before building and testing), into OUTROOT (default: the repository
# root) at these relative paths:
#   plugins/builtin/modules/{relabel,anonymize,filter}.wasm.zst   Go, zstd-compressed, embedded in the binary
#   wasm-examples/{dropprefix,sumby}/*.wasm           C on sdk/c (clang-14 + wasi-libc), skipped if absent
#   plugins/host/testdata/*.wasm                      hostile WAT test modules (wat2wasm), skipped if absent
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root}
mkdir -p "$out/plugins/builtin/modules" "$out/wasm-examples/dropprefix" "$out/wasm-examples/sumby" "$out/plugins/host/testdata"
cd "$root"
# The built-in modules are embedded zstd-compressed (a quarter of their size;
# plugins/builtin decompresses one when a stage names it): with the zstd
# command at level 19 where it is installed, else with the Go encoder's best
# level (go run ./plugins/builtin/internal/pack), about 12% larger.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in relabel anonymize filter; do
	GOFLAGS= GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared \
		-o "$tmp/$p.wasm" ./wasm-examples/$p
	if command -v zstd >/dev/null; then
		zstd -q -19 -f "$tmp/$p.wasm" -o "$out/plugins/builtin/modules/$p.wasm.zst"
	else
		go run ./plugins/builtin/internal/pack "$tmp/$p.wasm" "$out/plugins/builtin/modules/$p.wasm.zst"
	fi
done
if command -v clang-14 >/dev/null && [ -d /usr/lib/wasm32-wasi ]; then
	# The C SDK's build line (sdk/c/README.md): the plugin's sources plus sdk/c/edgerelay*.c.
	for p in dropprefix sumby; do
		clang-14 --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi -L/usr/lib/wasm32-wasi \
			-mexec-model=reactor -O2 -s -I sdk/c -o "$out/wasm-examples/$p/$p.wasm" \
			wasm-examples/$p/$p.c sdk/c/edgerelay.c sdk/c/edgerelay_config.c sdk/c/edgerelay_stream.c
	done
else
	echo "build.sh: clang-14 or wasi-libc missing; skipping wasm-examples/dropprefix and sumby" >&2
fi
if command -v wat2wasm >/dev/null; then
	for f in plugins/host/testdata/*.wat; do
		wat2wasm "$f" -o "$out/${f%.wat}.wasm"
	done
else
	echo "build.sh: wat2wasm missing; skipping plugins/host/testdata" >&2
fi
