package main

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeQuickStart follows README.md's five-minute walk with its own
// configs/cloud.yaml and configs/edge.yaml, their ports moved to free ones
// and their ./data under a temporary directory: check-config passes, cloud
// and edge run, the edge's /metrics shows its queue, scrape directories
// appear under data/files, /federate serves site plant-7, and both stop
// cleanly.
func TestReadmeQuickStart(t *testing.T) {
	bin := buildBinary(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	walk, _, _ := strings.Cut(string(readme), "## Commands")
	_, walk, ok := strings.Cut(walk, "## A five-minute walk")
	if !ok {
		t.Fatal("README.md has no five-minute walk")
	}
	for _, step := range []string{
		"./bin/edgerelay check-config configs/cloud.yaml",
		"./bin/edgerelay run --config configs/cloud.yaml &",
		"./bin/edgerelay run --config configs/edge.yaml &",
		"curl -s http://127.0.0.1:9201/metrics | grep edgerelay_queue",
		"find data/files -name '*.json'",
		`curl -sG http://127.0.0.1:9400/federate --data-urlencode 'match[]={site="plant-7"}'`,
	} {
		if !strings.Contains(walk, step) {
			t.Fatalf("README.md's walk no longer says %q: update this test with it", step)
		}
	}

	dir := t.TempDir()
	quic, cloudHTTP, edgeHTTP := freePort(t, "udp"), freePort(t, "tcp"), freePort(t, "tcp")
	move := strings.NewReplacer("127.0.0.1:4433", quic, "127.0.0.1:9400", cloudHTTP, "127.0.0.1:9201", edgeHTTP,
		"./data/", dir+"/data/")
	configs := map[string]string{}
	for _, name := range []string{"cloud.yaml", "edge.yaml"} {
		raw, err := os.ReadFile(filepath.Join("../../configs", name))
		if err != nil {
			t.Fatal(err)
		}
		configs[name] = filepath.Join(dir, name)
		if err := os.WriteFile(configs[name], []byte(move.Replace(string(raw))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if stderr, code := runBinary(t, bin, "check-config", configs["cloud.yaml"]); code != 0 {
		t.Fatalf("check-config configs/cloud.yaml: exit %d\n%s", code, stderr)
	}
	cloud := start(t, bin, "run", "--config", configs["cloud.yaml"])
	edge := start(t, bin, "run", "--config", configs["edge.yaml"])

	waitFor(t, "edgerelay_queue on the edge's /metrics", 5*time.Minute, func() bool {
		_, body := httpGet("http://" + edgeHTTP + "/metrics")
		return strings.Contains(body, "edgerelay_queue_blocks ")
	})
	waitFor(t, "scrape directories under data/files", 2*time.Minute, func() bool {
		found := false
		filepath.WalkDir(filepath.Join(dir, "data/files"), func(p string, d fs.DirEntry, err error) error {
			found = found || (err == nil && strings.HasSuffix(p, ".json"))
			return nil
		})
		return found
	})
	fed := "http://" + cloudHTTP + "/federate?match[]=" + url.QueryEscape(`{site="plant-7"}`)
	waitFor(t, "site plant-7 on /federate", time.Minute, func() bool {
		_, body := httpGet(fed)
		return strings.Contains(body, `site="plant-7"`) && strings.Contains(body, `job="edgerelay"`)
	})
	edge.stop(t)
	cloud.stop(t)
}
