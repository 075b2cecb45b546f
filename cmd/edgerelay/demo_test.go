package main

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemo runs `edgerelay demo` as a newcomer does: it prints its URLs,
// scrape directories appear under the printed files path, /federate serves
// the target's series with the demo's identity, and Ctrl-C stops it
// cleanly.
func TestDemo(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := start(t, bin, "demo", "--dir", dir, "--scrape-interval", "300ms", "--series", "5")
	var cloud string
	re := regexp.MustCompile(`cloud +http://([0-9.:]+)/`)
	waitFor(t, "the demo's banner", 60*time.Second, func() bool {
		p.mu.Lock()
		m := re.FindStringSubmatch(p.logs.String())
		p.mu.Unlock()
		if m != nil {
			cloud = m[1]
		}
		return m != nil
	})
	waitFor(t, "scrape directories in the files path", 60*time.Second, func() bool {
		return len(readScrapes(t, filepath.Join(dir, "files"))) >= 3
	})
	fed := "http://" + cloud + "/federate?match[]=" + url.QueryEscape(`{job="synth"}`)
	waitFor(t, "the target's series on /federate", 30*time.Second, func() bool {
		_, body := httpGet(fed)
		return strings.Contains(body, `synth_requests_total{`) && strings.Contains(body, `tenant="demo"`)
	})
	p.stopWith(t, syscall.SIGINT) // Ctrl-C
}
