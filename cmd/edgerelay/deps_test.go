//go:build !full

package main

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// forbiddenModules are the cloud-vendor SDKs and clients the default build
// leaves out (docs/packaging.md): a module path with one of these prefixes
// in the binary fails TestDefaultBuildDeps.
var forbiddenModules = []string{
	"github.com/aws/", "github.com/Azure/", "github.com/AzureAD/", "cloud.google.com/",
	"google.golang.org/api", "google.golang.org/grpc", "github.com/prometheus/sigv4",
	"github.com/hashicorp/consul/", "github.com/miekg/dns",
	"k8s.io/", "sigs.k8s.io/",
	// urfave/cli's Markdown and man page writers' (left out by buildTags).
	"github.com/cpuguy83/go-md2man", "github.com/russross/blackfriday",
	// yaml v3's old import path: edgerelay uses go.yaml.in/yaml/v3, the one
	// Prometheus' rule files are read with, so the binary holds one copy.
	"gopkg.in/yaml.v3",
}

// forbiddenPackages are Prometheus' packages that bring those SDKs, its
// discovery registry and scrape manager along; edgerelay has its own
// (relay/scrapeconf, relay/sd, relay/ingest, relay/config's remote_write).
var forbiddenPackages = []string{
	"github.com/prometheus/prometheus/config",
	"github.com/prometheus/prometheus/scrape",
	"github.com/prometheus/prometheus/discovery",
	"github.com/prometheus/prometheus/discovery/file",
	"github.com/prometheus/prometheus/discovery/http",
	"github.com/prometheus/prometheus/discovery/refresh",
	"github.com/prometheus/prometheus/discovery/kubernetes",
	"github.com/prometheus/prometheus/discovery/consul",
}

// TestDefaultBuildDeps: the default build links no cloud-vendor SDK (the
// modules debug/buildinfo reads from the built binary, as `go version -m`
// lists them) and none of Prometheus' packages that bring them
// (`go list -deps`, storage/remote/... included), nor Kubernetes' client.
func TestDefaultBuildDeps(t *testing.T) {
	info, err := buildinfo.ReadFile(buildBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range info.Deps {
		for _, f := range forbiddenModules {
			if strings.HasPrefix(m.Path, f) {
				t.Errorf("the default build links module %s %s", m.Path, m.Version)
			}
		}
	}
	for _, p := range listDeps(t, ".") {
		if strings.HasPrefix(p, "github.com/prometheus/prometheus/storage/remote") || slices.Contains(forbiddenPackages, p) {
			t.Errorf("the default build imports %s", p)
		}
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") {
			t.Errorf("the default build imports %s", p)
		}
	}
}

// TestBuildTags: the tests build the binary as make does.
func TestBuildTags(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUILD_TAGS\s*:?=\s*(.*)$`).FindSubmatch(mk)
	if m == nil || strings.TrimSpace(string(m[1])) != buildTags {
		t.Fatalf("the Makefile's BUILD_TAGS line is %q; buildTags is %q", m, buildTags)
	}
}

// listDeps is `go list -deps pkg`: pkg and every package it imports, in the
// build make builds.
func listDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-tags", buildTags, pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}
