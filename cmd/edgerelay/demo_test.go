package main

import (
	"io"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
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
	waitFor(t, "the demo's banner", 3*time.Minute, func() bool {
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

// TestDemoListenBase runs `edgerelay demo --listen-base B` beside other
// software: the target, the cloud's HTTP, the edge's HTTP and the cloud's
// QUIC are on B to B+3 as the banner says, data flows through them, and a
// taken port is an error naming the flag instead of a move elsewhere.
func TestDemoListenBase(t *testing.T) {
	bin := buildBinary(t)
	base := freePortBlock(t)
	addr := func(offset int) string { return "127.0.0.1:" + strconv.Itoa(base+offset) }
	p := start(t, bin, "demo", "--dir", t.TempDir(), "--scrape-interval", "300ms", "--series", "5",
		"--listen-base", strconv.Itoa(base))
	banner := []string{
		"target    http://" + addr(0) + "/metrics",
		"edge      http://" + addr(2) + "/",
		"uplink    QUIC to " + addr(3) + " ",
		"cloud     http://" + addr(1) + "/",
	}
	waitFor(t, "the demo's banner", 3*time.Minute, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, line := range banner {
			if !strings.Contains(p.logs.String(), line) {
				return false
			}
		}
		return true
	})
	if code, body := httpGet("http://" + addr(0) + "/metrics"); code != 200 || !strings.Contains(body, "synth_requests_total") {
		t.Fatalf("target on %s: %d %.200s", addr(0), code, body)
	}
	if code, body := httpGet("http://" + addr(2) + "/metrics"); code != 200 || !strings.Contains(body, "edgerelay_") {
		t.Fatalf("edge on %s: %d %.200s", addr(2), code, body)
	}
	fed := "http://" + addr(1) + "/federate?match[]=" + url.QueryEscape(`{job="synth"}`)
	waitFor(t, "the target's series on the cloud's /federate", 60*time.Second, func() bool {
		_, body := httpGet(fed)
		return strings.Contains(body, `synth_requests_total{`)
	})
	p.stopWith(t, syscall.SIGINT)

	// The cloud's HTTP port is taken now: the demo says so and exits.
	ln, err := net.Listen("tcp", addr(1))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stderr, code := runBinary(t, bin, "demo", "--dir", t.TempDir(), "--listen-base", strconv.Itoa(base))
	if code == 0 || !strings.Contains(stderr, "--listen-base "+strconv.Itoa(base)) || !strings.Contains(stderr, addr(1)) {
		t.Fatalf("demo with %s taken: exit %d, stderr:\n%s", addr(1), code, stderr)
	}
}

// freePortBlock returns a port B such that TCP B to B+2 and UDP B+3 are
// free on 127.0.0.1 now.
func freePortBlock(t *testing.T) int {
	t.Helper()
	for range 50 {
		_, p, _ := net.SplitHostPort(freePort(t, "tcp"))
		base, _ := strconv.Atoi(p)
		if base+3 > 65535 {
			continue
		}
		free := portFree("tcp", base) && portFree("tcp", base+1) && portFree("tcp", base+2) && portFree("udp", base+3)
		if free {
			return base
		}
	}
	t.Fatal("found no four free ports in a row")
	return 0
}

// portFree tells whether port on 127.0.0.1 can be bound now.
func portFree(network string, port int) bool {
	a := "127.0.0.1:" + strconv.Itoa(port)
	var c io.Closer
	var err error
	if network == "udp" {
		c, err = net.ListenPacket(network, a)
	} else {
		c, err = net.Listen(network, a)
	}
	if err == nil {
		c.Close()
	}
	return err == nil
}
