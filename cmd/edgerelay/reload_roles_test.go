package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// postReload asks url's /-/reload for a reload: its status and body.
func postReload(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// editFile replaces old with new in path, once; old must be there.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// statusPage returns the HTML of base's status page.
func statusPage(t *testing.T, base string) string {
	t.Helper()
	code, body := httpGet("http://" + base + "/")
	if code != 200 {
		t.Fatalf("status page: %d %s", code, body)
	}
	return body
}

// TestReloadEdge changes a running edge's configuration with POST
// /-/reload and SIGHUP: a new scrape job and new external labels apply
// without a restart, and without a gap in the scrapes the cloud writes; a
// removed job leaves the status page; a change of http_listen is refused
// by name, and the log, /metrics and the status page say so while the
// edge runs on.
func TestReloadEdge(t *testing.T) {
	env := newEnvWith(t, envOptions{edge: "  external_labels: {dc: west}\n"})
	second := httptest.NewServer(&synth.Target{Series: 3})
	t.Cleanup(second.Close)
	secondAddr := strings.TrimPrefix(second.URL, "http://")
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig, "--web.enable-lifecycle")
	metrics := "http://" + env.edgeHTTP + "/metrics"
	files := filepath.Join(env.dir, "files")
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	// scrapeNumbers are the synth target's scrape numbers written with
	// dc=<dc>.
	scrapeNumbers := func(dc string) []int {
		id := map[string]string{"dc": dc}
		for k, v := range identity {
			id[k] = v
		}
		var ns []int
		for _, s := range readScrapes(t, files) {
			if v, ok := s.samples[labelsWith(id, "__name__", "synth_scrape_number")]; ok {
				ns = append(ns, int(v))
			}
		}
		return ns
	}
	waitFor(t, "scrapes labelled dc=west", 120*time.Second, func() bool { return len(scrapeNumbers("west")) >= 2 })
	if got := metric(t, metrics, "edgerelay_config_last_reload_successful"); got != 1 {
		t.Fatalf("edgerelay_config_last_reload_successful = %v at start, want 1", got)
	}
	started := metric(t, metrics, "edgerelay_config_last_reload_success_timestamp_seconds")

	// A second job and other external labels, over HTTP.
	editFile(t, env.edgeConfig, "dc: west", "dc: east")
	editFile(t, env.edgeConfig, "  upstream:", fmt.Sprintf(`    - job_name: second
      scrape_interval: 500ms
      scrape_timeout: 400ms
      static_configs: [{targets: [%q]}]
  upstream:`, secondAddr))
	if code, body := postReload(t, env.edgeHTTP); code != 200 {
		t.Fatalf("POST /-/reload: %d %s", code, body)
	}
	waitFor(t, "scrapes labelled dc=east", 60*time.Second, func() bool { return len(scrapeNumbers("east")) >= 2 })
	waitFor(t, "a scrape of the new job", 60*time.Second, func() bool {
		for _, s := range readScrapes(t, files) {
			if s.meta["type"] == "second" {
				return true
			}
		}
		return false
	})
	if !strings.Contains(statusPage(t, env.edgeHTTP), secondAddr) && !strings.Contains(statusPage(t, env.edgeHTTP), ">second<") {
		t.Errorf("the status page does not list the new job")
	}
	if got := metric(t, metrics, "edgerelay_config_last_reload_success_timestamp_seconds"); !(got > started) {
		t.Errorf("edgerelay_config_last_reload_success_timestamp_seconds = %v after a reload, was %v", got, started)
	}

	// The job removed again, by SIGHUP: the page no longer lists it.
	b, _ := os.ReadFile(env.edgeConfig)
	cut := strings.Index(string(b), "    - job_name: second")
	end := strings.Index(string(b), "  upstream:")
	os.WriteFile(env.edgeConfig, append(b[:cut:cut], b[end:]...), 0o644)
	edge.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "two successful reloads", 30*time.Second, func() bool {
		return metric(t, metrics, `edgerelay_config_reloads_total{outcome="success"}`) == 2
	})
	if page := statusPage(t, env.edgeHTTP); strings.Contains(page, ">second<") {
		t.Errorf("the status page still lists the removed job second")
	}

	// A key only a restart applies: refused by name, the edge runs on.
	editFile(t, env.edgeConfig, "http_listen: "+env.edgeHTTP, "http_listen: 127.0.0.1:1")
	code, body := postReload(t, env.edgeHTTP)
	if code != http.StatusInternalServerError || !strings.Contains(body, "edge.http_listen") {
		t.Fatalf("POST /-/reload with http_listen changed: %d %q, want 500 naming edge.http_listen", code, body)
	}
	if got := metric(t, metrics, "edgerelay_config_last_reload_successful"); got != 0 {
		t.Errorf("edgerelay_config_last_reload_successful = %v after a refused reload, want 0", got)
	}
	if page := statusPage(t, env.edgeHTTP); !strings.Contains(page, "FAILED") || !strings.Contains(page, "edge.http_listen") {
		t.Errorf("the status page does not show the failed reload and its reason")
	}
	edge.mu.Lock()
	logged := strings.Contains(edge.logs.String(), "edge.http_listen cannot change")
	edge.mu.Unlock()
	if !logged {
		t.Errorf("the log does not say why the reload failed")
	}
	before := len(scrapeNumbers("east"))
	waitFor(t, "scrapes after the refused reload", 60*time.Second, func() bool { return len(scrapeNumbers("east")) >= before+2 })

	edge.stop(t)
	cloud.stop(t)
	// Nothing was lost on the way: the synth target's scrapes arrived
	// without a gap across the reloads.
	ns := append(scrapeNumbers("west"), scrapeNumbers("east")...)
	slices.Sort(ns)
	for i := 1; i < len(ns); i++ {
		if ns[i] != ns[i-1]+1 {
			t.Errorf("scrapes %d to %d missing at the cloud (of %d..%d)", ns[i-1]+1, ns[i]-1, ns[0], ns[len(ns)-1])
		}
	}
}

// TestReloadCloud changes a running cloud-only process's configuration
// with SIGHUP (POST /-/reload answers 403 without --web.enable-lifecycle):
// tighter limits apply to the connected edge; a tenant's new token leaves
// its connection open; a tenant removed has its connection closed and its
// edge refused; a change of files_dir is refused by name and the cloud
// runs on.
func TestReloadCloud(t *testing.T) {
	dir := t.TempDir()
	tok1, tok2 := filepath.Join(dir, "t1"), filepath.Join(dir, "t2")
	os.WriteFile(tok1, []byte("first-token\n"), 0o600)
	os.WriteFile(tok2, []byte("second-token\n"), 0o600)
	env := newEnvWith(t, envOptions{
		cloud: fmt.Sprintf("  tenants: [{name: acme, token_file: %s}]\n  limits: {max_labels_per_series: 30}\n", tok1),
		edge:  fmt.Sprintf("  external_labels: {token: none}\n"),
	})
	editFile(t, env.edgeConfig, "    insecure_skip_verify: true", "    insecure_skip_verify: true\n    token_file: "+tok1)
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	metrics := "http://" + env.cloudHTTP + "/metrics"
	received := func() float64 { return metric(t, metrics, "edgerelay_received_samples_total") }
	waitFor(t, "samples at the cloud", 120*time.Second, func() bool { return received() > 0 })

	if code, _ := postReload(t, env.cloudHTTP); code != http.StatusForbidden {
		t.Errorf("POST /-/reload without --web.enable-lifecycle: %d, want 403", code)
	}
	hup := func(want float64) {
		t.Helper()
		cloud.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, fmt.Sprintf("%v reloads", want), 30*time.Second, func() bool {
			return metric(t, metrics, "edgerelay_config_reloads_total") == want
		})
		select {
		case <-cloud.done:
			t.Fatalf("the cloud exited on SIGHUP: %v", cloud.err)
		default:
		}
	}

	// Limits: a series may have 3 labels at most; the synth target's have more.
	editFile(t, env.cloudConfig, "max_labels_per_series: 30", "max_labels_per_series: 3")
	hup(1)
	refused := `edgerelay_cloud_refused_samples_total{reason="max_labels_per_series",tenant="acme"}`
	waitFor(t, "samples refused by the reloaded limit", 60*time.Second, func() bool { return metric(t, metrics, refused) > 0 })
	editFile(t, env.cloudConfig, "max_labels_per_series: 3", "max_labels_per_series: 30")

	// A new token: the connection made with the old one stays open.
	editFile(t, env.cloudConfig, "token_file: "+tok1, "token_file: "+tok2)
	hup(2)
	n := received()
	waitFor(t, "samples after the token changed", 60*time.Second, func() bool { return received() > n })
	if got := metric(t, metrics, "edgerelay_cloud_auth_refused_total"); got != 0 {
		t.Errorf("edgerelay_cloud_auth_refused_total = %v, want 0: the connection made with the old token is valid", got)
	}

	// The tenant removed: its connection closes and the edge is refused.
	editFile(t, env.cloudConfig, "name: acme", "name: other")
	hup(3)
	waitFor(t, "the edge refused", 60*time.Second, func() bool {
		return metric(t, metrics, `edgerelay_cloud_auth_refused_total{reason="bad_token"}`) > 0
	})

	// A key only a restart applies.
	editFile(t, env.cloudConfig, "files_dir: ", "files_dir: /elsewhere")
	hup(4)
	if got := metric(t, metrics, "edgerelay_config_last_reload_successful"); got != 0 {
		t.Errorf("edgerelay_config_last_reload_successful = %v after a refused reload, want 0", got)
	}
	if page := statusPage(t, env.cloudHTTP); !strings.Contains(page, "cloud.files_dir cannot change") {
		t.Errorf("the status page does not show why the reload failed")
	}
	edge.stop(t)
	cloud.stop(t)
}
