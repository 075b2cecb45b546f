package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The hostile-input suite: a real cloud with client certificates and
// per-site tokens, a good edge of tenant "good" scraping every 500ms, and
// attacks made from the test process against the cloud's QUIC and HTTP
// listeners. For each attack the cloud must stay up, refuse clearly (a
// counter moves), write nothing it should not, and keep taking the good
// edge's scrapes; the good edge's rate before and during each attack is
// logged.

// hostileEnv is the cloud and the good edge under attack.
type hostileEnv struct {
	*e2eEnv
	tlsDir   string
	cloud    *proc
	goodEdge *proc
	goodHTTP string // the good edge's HTTP listener
	opsURL   string // the cloud's HTTP base URL with an operator's credentials
	baseline float64
}

const hostileWindow = 4 * time.Second

func newHostileEnv(t *testing.T) *hostileEnv {
	env := newEnv(t)
	h := &hostileEnv{e2eEnv: env, tlsDir: filepath.Join(env.dir, "tls")}
	if out, _, err := runCLI(t, "certs", "--out", h.tlsDir); err != nil {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	for _, ts := range [][2]string{{"good", "g1"}, {"good", "g2"}, {"wide", "w1"}, {"wide", "w2"}} {
		if out, _, err := runCLI(t, "certs", "--out", h.tlsDir, "--tenant", ts[0], "--site", ts[1]); err != nil {
			t.Fatalf("certs: %v\n%s", err, out)
		}
	}
	tokens := map[string]string{"acme-plant-7": "acme-p7-token", "good-g1": "good-g1-token", "good-g2": "good-g2-token"}
	for name, tok := range tokens {
		os.WriteFile(filepath.Join(h.tlsDir, name+".token"), []byte(tok+"\n"), 0o600)
	}
	web := filepath.Join(env.dir, "web.yml")
	hash, _ := bcrypt.GenerateFromPassword([]byte("ops-pw"), bcrypt.MinCost)
	os.WriteFile(web, fmt.Appendf(nil, "basic_auth_users:\n  ops: %s\n", hash), 0o600)
	cloudCfg, _ := os.ReadFile(env.cloudConfig)
	os.WriteFile(env.cloudConfig, fmt.Appendf(cloudCfg, `  cert_file: %[1]s/cloud.pem
  key_file: %[1]s/cloud-key.pem
  client_ca_file: %[1]s/ca.pem
  web_config_file: %[2]s
  tenants:
    - name: acme
      sites: [{name: plant-7, token_file: %[1]s/acme-plant-7.token}]
    - name: good
      sites:
        - {name: g1, token_file: %[1]s/good-g1.token}
        - {name: g2, token_file: %[1]s/good-g2.token}
    - name: wide
      limits: {max_connections: 3, max_queues_per_site: 2}
`, h.tlsDir, web), 0o644)
	h.opsURL = "http://ops:ops-pw@" + env.cloudHTTP
	h.cloud = start(t, env.bin, "run", "--config", env.cloudConfig)

	goodCfg := edgeConfigAs(t, env, "good-edge", "good", "g1", h.tlsDir, "edge-good-g1.pem", "edge-good-g1-key.pem")
	b, _ := os.ReadFile(goodCfg)
	os.WriteFile(goodCfg, []byte(strings.Replace(string(b), "    max_backoff: 1s\n",
		"    max_backoff: 1s\n    token_file: "+h.tlsDir+"/good-g1.token\n", 1)), 0o644)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "  http_listen: "); ok {
			h.goodHTTP = v
		}
	}
	h.goodEdge = start(t, env.bin, "run", "--config", goodCfg)
	waitFor(t, "the good edge's first scrapes at the cloud", 30*time.Second, func() bool { return h.goodScrapes() >= 2 })
	h.baseline = h.goodRate(func() { time.Sleep(hostileWindow) })
	t.Logf("good edge before any attack: %.2f scrapes/s arriving at the cloud", h.baseline)
	return h
}

// goodScrapes counts the good edge's scrapes the cloud has written.
func (h *hostileEnv) goodScrapes() int {
	m, _ := filepath.Glob(filepath.Join(h.dir, "files", "good", "g1", "*", "*", "*.json"))
	return len(m)
}

// goodRate runs attack and returns the good edge's scrapes per second
// arriving at the cloud meanwhile.
func (h *hostileEnv) goodRate(attack func()) float64 {
	n0, t0 := h.goodScrapes(), time.Now()
	attack()
	return float64(h.goodScrapes()-n0) / time.Since(t0).Seconds()
}

// during runs attack for hostileWindow while measuring the good edge, then
// checks the cloud survived: /-/healthy answers, the good edge's scrapes
// keep arriving, and nothing was written outside the tenants' directories.
func (h *hostileEnv) during(t *testing.T, name string, attack func(stop <-chan struct{})) {
	t.Helper()
	rate := h.goodRate(func() {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); attack(stop) }()
		time.Sleep(hostileWindow)
		close(stop)
		<-done
	})
	t.Logf("%s: good edge %.2f scrapes/s during the attack (%.2f before), cloud RSS %.0f MiB", name, rate, h.baseline, rss(h.cloud))
	h.checkAlive(t)
}

func (h *hostileEnv) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case <-h.cloud.done:
		t.Fatalf("the cloud exited: %v", h.cloud.err)
	default:
	}
	if code, body := httpGet("http://" + h.cloudHTTP + "/-/healthy"); code != 200 {
		t.Fatalf("/-/healthy: %d %s", code, body)
	}
	n := h.goodScrapes()
	waitFor(t, "another scrape of the good edge", 30*time.Second, func() bool { return h.goodScrapes() > n })
	entries, _ := os.ReadDir(filepath.Join(h.dir, "files"))
	for _, e := range entries {
		if e.Name() != "acme" && e.Name() != "good" && e.Name() != "wide" && !strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("files_dir holds %q, which is no tenant's", e.Name())
		}
	}
}

// nothingWritten checks that the cloud holds nothing of tenant: no files,
// no series on /federate.
func (h *hostileEnv) nothingWritten(t *testing.T, tenant string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(h.dir, "files", tenant)); !os.IsNotExist(err) {
		t.Errorf("files written for tenant %s: %v", tenant, err)
	}
	code, body := h.federate()
	if code != 200 || strings.Contains(body, `tenant="`+tenant+`"`) || !strings.Contains(body, `site="g1"`) {
		t.Errorf("/federate: %d, holds tenant %s's series or not good's:\n%.2000s", code, tenant, body)
	}
}

// federate returns what an operator's /federate serves of every series.
func (h *hostileEnv) federate() (int, string) {
	return httpGet(h.opsURL + "/federate?match[]=" + url.QueryEscape(`{__name__=~".+"}`))
}

// metric returns the value of one series of the cloud's /metrics, 0 when
// absent.
func (h *hostileEnv) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, body := httpGet(h.opsURL + "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// rss returns a process's resident set size in MiB, as
// /proc/<pid>/status says; 0 when unknown.
func rss(p *proc) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
