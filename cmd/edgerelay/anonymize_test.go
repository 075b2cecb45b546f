package main

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/store"
)

// e2eAnonymize is a plugin chain for newEnv hiding the target's address.
const e2eAnonymize = `  plugins:
    - name: anon
      module: builtin:anonymize
      config:
        labels: [instance]
        key: e2e-anonymize-key
`

// pseudonym is what builtin:anonymize makes of value under key (length 16).
func pseudonym(key, value string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))[:16]
}

// TestAnonymizedTarget: with builtin:anonymize hiding instance, the scraped
// target's address leaves the edge nowhere — not in the cloud's directory
// names, .json or .data.gz files, its data_dir (delta bases, dedup state),
// its logs or /federate, and not in the edge's queue as `queue export`
// writes it — over both encodings, delta frames and whole scrapes. The
// anonymized value names the directory and is the iid; olabels holds the
// target's labels after the chain, without discovered labels.
func TestAnonymizedTarget(t *testing.T) {
	env := newEnv(t, e2eAnonymize)
	raw := []string{env.targetAddr, strings.ReplaceAll(env.targetAddr, ":", "_")}
	anon := pseudonym("e2e-anonymize-key", env.targetAddr)
	files := filepath.Join(env.dir, "files")
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	fedURL := "http://" + env.cloudHTTP + `/federate?match[]={job="synth"}`
	startEdge := func() *proc {
		p := start(t, env.bin, "run", "--config", env.edgeConfig)
		// Under the race detector the first compilation of a built-in plugin
		// takes tens of seconds.
		waitFor(t, "edge ready", 120*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
		return p
	}

	// Live, delta-encoded (the default).
	cloud := env.startCloud(t)
	edge := startEdge()
	waitFor(t, "three scrape directories", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= 3 })
	var federated []string
	_, body := httpGet(fedURL)
	federated = append(federated, body)

	// The cloud goes away: delta frames queue up; then the edge restarts
	// sending scrapes whole, and those queue up too.
	cloud.stop(t)
	waitFor(t, "delta frames queued", 30*time.Second, func() bool { return metric(t, edgeMetrics, "edgerelay_queue_blocks") >= 2 })
	edge.stop(t)
	env.edit(t, "        key: e2e-anonymize-key\n", "        key: e2e-anonymize-key\n    - module: builtin:delta\n      config: {disabled: true}\n")
	edge = startEdge()
	queued := metric(t, edgeMetrics, "edgerelay_queue_blocks")
	waitFor(t, "whole scrapes queued", 30*time.Second, func() bool { return metric(t, edgeMetrics, "edgerelay_queue_blocks") >= queued+2 })
	edge.stop(t)

	bundle := filepath.Join(env.dir, "backlog.erb")
	if out, err := exec.Command(env.bin, "queue", "export", "--data-dir", filepath.Join(env.dir, "edge"), "--out", bundle).CombinedOutput(); err != nil {
		t.Fatalf("queue export: %v\n%s", err, out)
	}
	frames, batches := searchBundle(t, bundle, raw)
	if frames == 0 || batches == 0 {
		t.Fatalf("the exported queue holds %d delta frames and %d whole scrapes; want both", frames, batches)
	}

	// Back online: the backlog of both kinds drains into the cloud.
	cloud = env.startCloud(t)
	edge = startEdge()
	waitDrained(t, "backlog drained", edgeMetrics)
	_, body = httpGet(fedURL)
	federated = append(federated, body)
	edge.stop(t)
	cloud.stop(t)

	// What the cloud wrote names the target by its pseudonym only.
	identity := map[string]string{"job": "synth", "instance": anon, "env": "test", "site": "plant-7", "tenant": "acme"}
	scrapes := readScrapes(t, files)
	if len(scrapes) < 3+2+2 {
		t.Fatalf("%d scrape directories; want the live ones and the whole backlog", len(scrapes))
	}
	wantOLabels := map[string]any{"env": "test", "instance": anon, "job": "synth"}
	for _, s := range scrapes {
		if got, want := filepath.Dir(s.dir), filepath.Join(files, "acme", "plant-7", anon+".synth"); got != want {
			t.Fatalf("scrape written to %s, want under %s", s.dir, want)
		}
		if s.meta["iid"] != anon || s.meta["type"] != "synth" {
			t.Fatalf("%s: iid %v type %v; want %s synth", s.dir, s.meta["iid"], s.meta["type"], anon)
		}
		if ol, _ := s.meta["olabels"].(map[string]any); !mapsEqual(ol, wantOLabels) {
			t.Fatalf("%s: olabels %v; want %v (the target's labels after the chain, nothing discovered)", s.dir, ol, wantOLabels)
		}
		if kv, _ := s.meta["kvs"].(map[string]any); kv["instance"] != anon {
			t.Fatalf("%s: kvs %v lack instance=%s", s.dir, kv, anon)
		}
		expectSynth(t, s.dir, s.samples, identity)
	}
	for _, body := range federated {
		expectSynth(t, "/federate", parseText(t, []byte(body), nil), identity)
		findNone(t, "/federate", []byte(body), raw)
	}
	for _, root := range []string{files, filepath.Join(env.dir, "cloud")} {
		searchTree(t, root, raw)
	}
	cloud.mu.Lock()
	findNone(t, "the cloud's log", cloud.logs.Bytes(), raw)
	cloud.mu.Unlock()
	t.Logf("%d scrapes written under %s, the exported queue held %d delta frames and %d whole scrapes: no trace of %s", len(scrapes), anon, frames, batches, env.targetAddr)
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// findNone fails if data holds any of raw.
func findNone(t *testing.T, where string, data []byte, raw []string) {
	t.Helper()
	for _, r := range raw {
		if i := bytes.Index(data, []byte(r)); i >= 0 {
			lo, hi := max(0, i-80), min(len(data), i+len(r)+80)
			t.Fatalf("%s holds %q: ...%q...", where, r, data[lo:hi])
		}
	}
}

// searchTree fails if a path below root, or a file's content (.gz files
// uncompressed), holds any of raw.
func searchTree(t *testing.T, root string, raw []string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		findNone(t, "path", []byte(path), raw)
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		findNone(t, path, data, raw)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no files under %s", root)
	}
}

// searchBundle fails if the exported queue holds any of raw, in the bundle's
// bytes or in any block decoded: the delta frames (target key, attributes,
// series) and the whole scrapes (job, instance, target labels, series).
func searchBundle(t *testing.T, path string, raw []string) (frames, batches int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	findNone(t, "the bundle", data, raw)
	err = store.ReadBundle(bytes.NewReader(data), func(_ uint64, b store.Block) error {
		blk, err := block.Decode(b.Data)
		if err != nil {
			return err
		}
		for _, f := range blk.Frames {
			findNone(t, "a queued delta frame", f, raw)
			frames++
		}
		for _, bt := range blk.Batches {
			var sb strings.Builder
			sb.WriteString(bt.Job + " " + bt.Instance + " " + bt.TargetLabels.String())
			for _, s := range bt.Series {
				sb.WriteString(s.Labels.String())
			}
			findNone(t, "a queued scrape", []byte(sb.String()), raw)
			batches++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return frames, batches
}
