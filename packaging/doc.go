// Package packaging holds how edgerelay is shipped, and the tests that
// check it: dist.sh (called by `make dist`) builds static binaries for
// linux/amd64, arm64 and arm/v7 with their .deb packages (nfpm.yaml,
// edgerelay.service, edge.yaml, scripts/) and SHA256SUMS; Containerfile is
// the container image. It has no Go API.
package packaging
