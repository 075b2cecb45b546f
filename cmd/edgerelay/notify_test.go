package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hookSink is a webhook receiver counting the notices it took by id; while
// down it answers 503.
type hookSink struct {
	mu      sync.Mutex
	down    bool
	seen    map[string]int
	refused int
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		h.refused++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var b struct {
		Notices []struct {
			ID    string   `json:"id"`
			Dir   string   `json:"dir"`
			Files []string `json:"files"`
		} `json:"notices"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, n := range b.Notices {
		h.seen[n.ID]++
	}
}

func (h *hookSink) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *hookSink) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.seen))
	for k, v := range h.seen {
		out[k] = v
	}
	return out
}

// scrapeIDs are the scrape directories under files, as notice ids.
func scrapeIDs(t *testing.T, files string) []string {
	t.Helper()
	var ids []string
	for _, s := range readScrapes(t, files) {
		rel, err := filepath.Rel(files, s.dir)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, filepath.ToSlash(rel))
	}
	return ids
}

// execCounts counts the notices the exec hook appended to path, by id.
func execCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	b, _ := os.ReadFile(path)
	out := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var n struct {
			ID string `json:"id"`
		}
		if l != "" && json.Unmarshal([]byte(l), &n) == nil {
			out[n.ID]++
		}
	}
	return out
}

// missing returns the ids not in counts, and those counted more than once.
func missing(ids []string, counts map[string]int) (absent, twice []string) {
	for _, id := range ids {
		switch c := counts[id]; {
		case c == 0:
			absent = append(absent, id)
		case c > 1:
			twice = append(twice, id)
		}
	}
	return absent, twice
}

// TestNotifyEveryNewDirectory runs a cloud with a webhook and an exec hook
// and an edge scraping every 100ms. With both hooks up, each sees every
// new scrape directory exactly once. Then the webhook answers 503 while
// the edge keeps sending and the cloud is killed with SIGKILL and
// restarted: once the webhook is back, every directory written meanwhile
// reaches it (at least once), none is lost, and the exec hook, never
// down, still saw each directory; the cloud's /metrics counts the
// retries.
func TestNotifyEveryNewDirectory(t *testing.T) {
	sink := &hookSink{seen: map[string]int{}}
	ts := httptest.NewServer(sink)
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	execOut := filepath.Join(dir, "exec.ndjson")
	env := newEnvWith(t, envOptions{cloud: fmt.Sprintf(`  notify:
    webhook: {url: %q, timeout: 2s}
    exec: {command: /bin/sh, args: ["-c", "cat >> \"$0\"", %q]}
    min_backoff: 100ms
    max_backoff: 500ms
`, ts.URL+"/hook", execOut)})
	env.scrapeFast(t)
	files := filepath.Join(env.dir, "files")
	if out, errOut, err := runCLI(t, "check-config", env.cloudConfig); err != nil {
		t.Fatalf("check-config: %v\n%s%s", err, out, errOut)
	}

	cloud := env.startCloud(t)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "20 scrape directories", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= 20 })
	edge.stop(t)
	waitFor(t, "every directory at both hooks", 30*time.Second, func() bool {
		ids := scrapeIDs(t, files)
		a1, _ := missing(ids, sink.counts())
		a2, _ := missing(ids, execCounts(t, execOut))
		return len(a1) == 0 && len(a2) == 0
	})
	time.Sleep(time.Second) // a duplicate would come now
	ids := scrapeIDs(t, files)
	for hook, counts := range map[string]map[string]int{"webhook": sink.counts(), "exec": execCounts(t, execOut)} {
		if _, twice := missing(ids, counts); len(twice) > 0 || len(counts) != len(ids) {
			t.Fatalf("%s: %d notices for %d directories; twice: %v", hook, len(counts), len(ids), twice)
		}
	}
	t.Logf("%d directories, each announced once to each hook", len(ids))

	// The webhook goes down; the cloud is killed and restarted meanwhile.
	sink.setDown(true)
	edge = start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "20 more scrape directories", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= len(ids)+20 })
	cloud.cmd.Process.Signal(syscall.SIGKILL)
	<-cloud.done
	env.startCloud(t)
	waitFor(t, "20 more scrape directories after the restart", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= len(ids)+40 })
	edge.stop(t)
	waitFor(t, "the restarted cloud retrying", 30*time.Second, func() bool {
		return metric(t, "http://"+env.cloudHTTP+"/metrics", `edgerelay_notify_retries_total{hook="webhook"}`) > 0
	})
	sink.setDown(false)
	all := scrapeIDs(t, files)
	waitFor(t, "every directory at the webhook after it recovered", 60*time.Second, func() bool {
		absent, _ := missing(all, sink.counts())
		return len(absent) == 0
	})
	waitFor(t, "every directory at the exec hook", 30*time.Second, func() bool {
		absent, _ := missing(all, execCounts(t, execOut))
		return len(absent) == 0
	})
	_, twice := missing(all, sink.counts())
	t.Logf("%d directories; after the outage and a SIGKILL every one reached the webhook, %d of them twice (at least once); %d requests refused while down",
		len(all), len(twice), sink.refused)
	_, body := httpGet("http://" + env.cloudHTTP + "/metrics")
	if !metricAtLeast(body, `edgerelay_notify_spool_notices{hook="webhook"}`, 0) || metricAtLeast(body, `edgerelay_notify_spool_notices{hook="webhook"}`, 1) {
		t.Errorf("webhook spool not empty after delivery:\n%s", grepLines(body, "edgerelay_notify_"))
	}
}
