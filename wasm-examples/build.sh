#!/bin/sh
# Builds every WebAssembly module edgerelay uses (none is committed; make runs
# this before building and testing), into OUTROOT (default: the repository
# root) at these relative paths:
#   plugins/builtin/modules/builtin.zst               relabel, anonymize, filter (Go), one zstd archive, embedded
#   wasm-examples/{dropprefix,sumby}/*.wasm           C on sdk/c (clang-14 + wasi-libc), skipped if absent
#   plugins/host/testdata/*.wasm                      hostile WAT test modules (wat2wasm), skipped if absent
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root}
mkdir -p "$out/plugins/builtin/modules" "$out/wasm-examples/dropprefix" "$out/wasm-examples/sumby" "$out/plugins/host/testdata"
cd "$root"
# The built-in modules are embedded as one archive, plugins/builtin/modules/
# builtin.zst (its README describes it): an index in a zstd skippable frame,
# then the three modules concatenated and compressed as one zstd frame, so the
# second and third find the Go runtime the first carried (1.34 MB against
# 2.69 MB compressed one by one). With the zstd command at level 19 and --long
# where it is installed, else with the Go encoder's best level
# (go run ./plugins/builtin/internal/pack), about 17% larger.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mods=
for p in relabel anonymize filter; do
	GOFLAGS= GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared \
		-o "$tmp/$p.wasm" ./wasm-examples/$p
	mods="$mods $tmp/$p.wasm"
done
archive=$out/plugins/builtin/modules/builtin.zst
# Earlier builds wrote one <name>.wasm.zst per module; go:embed would still
# embed them.
rm -f "$out"/plugins/builtin/modules/*.wasm.zst
if command -v zstd >/dev/null; then
	# le32 N: N as four little-endian bytes.
	le32() {
		n=$1
		for _ in 1 2 3 4; do
			printf "\\$(printf %03o $((n % 256)))"
			n=$((n / 256))
		done
	}
	off=0
	for f in $mods; do
		n=$(($(wc -c <"$f")))
		echo "$(basename "$f" .wasm) $off $n"
		off=$((off + n))
	done >"$tmp/index"
	# shellcheck disable=SC2086 # $mods holds mktemp paths, no spaces
	cat $mods >"$tmp/all"
	{
		printf '\120\052\115\030' # the skippable frame's magic, 0x184D2A50
		le32 $(($(wc -c <"$tmp/index")))
		cat "$tmp/index"
		zstd -q -19 --long=27 -c "$tmp/all"
	} >"$tmp/builtin.zst"
	cmp -s "$tmp/builtin.zst" "$archive" 2>/dev/null || mv "$tmp/builtin.zst" "$archive"
else
	# shellcheck disable=SC2086
	go run ./plugins/builtin/internal/pack "$archive" $mods
fi
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
