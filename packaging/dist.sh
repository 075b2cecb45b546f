#!/bin/sh
# Builds edgerelay's release artefacts into OUT (default ./dist), as `make dist` does:
#   edgerelay-linux-<arch>          static binaries (CGO_ENABLED=0, -trimpath, version stamped)
#   edgerelay_<version>_<arch>.deb  Debian packages (nfpm): binary, systemd unit, /etc/edgerelay/edge.yaml
#   edgerelay-full-linux-<arch>     the full build (-tags full: kubernetes_sd_configs, consul_sd_configs)
#                                   for each platform in FULL_PLATFORMS (default linux/amd64), no package
#   SHA256SUMS                      sha256sum -c SHA256SUMS checks every file above
# Arguments are platforms, os/arch[/variant]: linux/amd64 linux/arm64 linux/arm/v7.
# Environment: GO, LDFLAGS and TAGS (the same as `make build`), VERSION, OUT, NFPM (the packager's command),
# FULL_PLATFORMS (space-separated; empty builds no full variant).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
OUT=${OUT:-dist}
VERSION=${VERSION:-dev}
NFPM=${NFPM:-$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0}
FULL_PLATFORMS=${FULL_PLATFORMS-linux/amd64}
TAGS=${TAGS-urfave_cli_no_docs}
[ $# -gt 0 ] || set -- linux/amd64 linux/arm64 linux/arm/v7

# build PLATFORM OUTFILE [TAG]: a static, stripped, stamped binary, built with
# TAGS and TAG.
build() {
	platform=$1 file=$2 tags=$TAGS
	[ -z "${3:-}" ] || tags=${tags:+$tags,}$3
	os=${platform%%/*}
	arch=${platform#*/}
	variant=
	case $arch in */*) variant=${arch#*/}; arch=${arch%%/*} ;; esac
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=${variant#v} \
		$GO build -trimpath -tags "$tags" -ldflags "$LDFLAGS" -o "$file" ./cmd/edgerelay
}

# A Debian version starts with a digit: a tag v1.2.3 gives 1.2.3; an untagged
# build gives 0~<commit time>.g<commit>, which sorts below any release.
case $VERSION in
v[0-9]*) pkgver=${VERSION#v} ;;
*) pkgver=0~$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).g$(git rev-parse --short HEAD 2>/dev/null || echo unknown) ;;
esac
pkgver=$(printf %s "$pkgver" | tr -- - +)

rm -rf "$OUT"
mkdir -p "$OUT"
for platform in "$@"; do
	os=${platform%%/*}
	arch=${platform#*/}
	variant=
	case $arch in */*) variant=${arch#*/}; arch=${arch%%/*} ;; esac
	name=$arch${variant}                # amd64, arm64, armv7
	nfpmarch=$arch${variant#v}          # nfpm's names: amd64, arm64, arm7 (armhf in the .deb)
	bin=$OUT/edgerelay-$os-$name
	build "$platform" "$bin"
	EDGERELAY_BIN=$bin EDGERELAY_ARCH=$nfpmarch EDGERELAY_VERSION=$pkgver \
		$NFPM package --config packaging/nfpm.yaml --packager deb --target "$OUT/"
done
for platform in $FULL_PLATFORMS; do
	name=$(printf %s "${platform#*/}" | tr -d /)
	build "$platform" "$OUT/edgerelay-full-${platform%%/*}-$name" full
done
(cd "$OUT" && sha256sum edgerelay-* edgerelay_*.deb > SHA256SUMS)
echo "dist: $OUT (version $VERSION, package version $pkgver)"
(cd "$OUT" && for f in edgerelay-* edgerelay_*.deb; do
	wc -c < "$f" | awk -v f="$f" '{ printf "  %-44s %10d bytes  %5.1f MB\n", f, $1, $1 / 1e6 }'
done)
