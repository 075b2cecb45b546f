# edgerelay — see README.md.
GO       ?= go
BIN      := bin/edgerelay
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# BUILD_TAGS: what every build of the binary is built with (docs/packaging.md). urfave_cli_no_docs leaves out
# urfave/cli's Markdown and man page writers (ToMarkdown, ToMan) and the two libraries they need, which
# edgerelay never calls: 262 KB. Tests and bench/ that build the binary use the same tags (cmd/edgerelay's
# buildTags, which TestDefaultBuildDeps checks against this line).
BUILD_TAGS := urfave_cli_no_docs
LDFLAGS  := -s -w -X github.com/edgerelay/edgerelay/relay/version.Version=$(VERSION) -X github.com/edgerelay/edgerelay/relay/version.Commit=$(COMMIT)

.PHONY: all build demo test test-rw-outage test-fleet test-short vet fmt-check wasm bench bench-wire bench-peers bench-sites clean

all: build

# The WebAssembly modules (built-in plugins, examples, hostile test modules) are build outputs, not
# committed: wasm-examples/build.sh makes them when a source changed or the built-ins are missing.
WASM_STAMP := bin/.wasm-built
WASM_SRC   := wasm-examples/build.sh $(shell find wasm-examples sdk plugins/host/testdata plugins/builtin/internal \
	\( -name '*.go' -o -name '*.c' -o -name '*.h' -o -name '*.wat' \) 2>/dev/null)
.PHONY: FORCE
$(WASM_STAMP): $(WASM_SRC) $(if $(wildcard plugins/builtin/modules/builtin.zst),,FORCE)
	sh wasm-examples/build.sh
	@mkdir -p bin && touch $@

## build: the static binary at ./bin/edgerelay (the built-in plugin modules first)
build: $(WASM_STAMP)
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(BUILD_TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/edgerelay

## dist: static binaries for DIST_PLATFORMS, their .deb packages (nfpm, as a Go tool) and SHA256SUMS
## in DIST_DIR; prints each file's size (packaging/dist.sh, docs/packaging.md)
## FULL_PLATFORMS get the full build too (edgerelay-full-<os>-<arch>, -tags full; empty: none)
DIST_PLATFORMS ?= linux/amd64 linux/arm64 linux/arm/v7
FULL_PLATFORMS ?= linux/amd64
DIST_DIR       ?= dist
.PHONY: dist
dist: $(WASM_STAMP)
	GO='$(GO)' LDFLAGS='$(LDFLAGS)' TAGS='$(BUILD_TAGS)' VERSION='$(VERSION)' OUT='$(DIST_DIR)' FULL_PLATFORMS='$(FULL_PLATFORMS)' \
		sh packaging/dist.sh $(DIST_PLATFORMS)

## build-full: the full build (-tags full: kubernetes_sd_configs, consul_sd_configs) at ./bin/edgerelay-full
.PHONY: build-full
build-full: $(WASM_STAMP)
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(BUILD_TAGS),full' -ldflags '$(LDFLAGS)' -o $(BIN)-full ./cmd/edgerelay

## demo: synthetic target + edge + cloud in one process on loopback (Ctrl-C stops it)
demo: build
	./$(BIN) demo --dir ./demo-data

## test: formatting, vet, and every test with the race detector (end-to-end tests build the binary);
## then the plugin ABI suite and its fuzz seeds without it, whose Go half is too slow to compile under -race
test: fmt-check vet $(WASM_STAMP)
	$(GO) test -race -timeout 20m ./...
	$(GO) test -run 'TestABISuite|FuzzABI' ./plugins/host/

## test-rw-outage: the cloud's remote_write output through a 60 s outage of a real VictoriaMetrics and a real
## Prometheus (make test runs the same test with a 10 s outage); about 3 minutes
test-rw-outage: $(WASM_STAMP)
	EDGERELAY_RW_OUTAGE=60s $(GO) test -race -count=1 -timeout 15m -run 'TestRemoteWriteOutage' ./cmd/edgerelay/

## test-fleet: the fleet's end-to-end tests with real processes (several upstreams, failover, clouds sharing
## sites through a real etcd with one stopped and one killed, ...), each a minute or more; make test runs
## their short relatives
test-fleet: $(WASM_STAMP)
	EDGERELAY_FLEET=1 $(GO) test -race -count=1 -timeout 20m -run TestFleet ./...

## test-short: unit tests only, no race detector
test-short: $(WASM_STAMP)
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## wasm: rebuild every WebAssembly module now (built-ins need only Go; C examples clang-14, test modules wat2wasm)
wasm:
	sh wasm-examples/build.sh
	@mkdir -p bin && touch $(WASM_STAMP)

## bench: microbenchmarks of the hot paths
bench: $(WASM_STAMP)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/wire/... ./store/ ./plugins/...

## bench-wire: bytes/sample of edgerelay's wire format against remote_write 1.0 (+zstd) on recorded workloads
bench-wire:
	$(GO) run ./bench/wire

## bench-peers: edgerelay beside the Prometheus agent and vmagent on the same targets and receiver, one after
## another (~10 minutes; apt-get installs missing peers); tables to bench/results/<date>.md.
## PEERS_FLAGS=-quick runs in ~2 minutes; go run ./bench/peers -h lists the flags
bench-peers: build
	$(GO) run ./bench/peers -edgerelay $(BIN) $(PEERS_FLAGS)

## bench-sites: one cloud process and 100, 1000, 5000 simulated sites of 1000 series (real QUIC connections):
## cloud CPU per sample, MiB per site, sites per core (~6 minutes); table to bench/results/<date>-sites.md.
## SITES_FLAGS are passed on; go run ./bench/sites -h lists the flags
bench-sites: build
	$(GO) run ./bench/sites -edgerelay $(BIN) $(SITES_FLAGS)

clean:
	rm -rf bin demo-data dist
