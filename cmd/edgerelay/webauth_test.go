package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgerelay/edgerelay/internal/promtest"
)

// TestFederateTenantAuth runs a cloud whose HTTP listener has a Prometheus
// web config file (TLS with the pair `edgerelay certs` made, basic auth
// users ops and grafana-acme, the latter confined to tenant acme by
// cloud.federate.tenant_users), fed by an edge of tenant acme and one of
// tenant bolt over mTLS. A real Prometheus scraping /federate over TLS as
// grafana-acme stores acme's series and not one of bolt's; a job without
// credentials gets nothing. Anonymous requests get 401 and no series, the
// operator sees both tenants, the tenant parameter cannot widen
// grafana-acme's view, /metrics is the operator's, health checks are open,
// pprof answers 404 unless debug.pprof is on, and check-config and run
// refuse a web config file that does not validate, naming it.
func TestFederateTenantAuth(t *testing.T) {
	env := newEnv(t)
	tlsDir := filepath.Join(env.dir, "tls")
	if _, _, err := runCLI(t, "certs", "--out", tlsDir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "certs", "--out", tlsDir, "--tenant", "bolt", "--site", "yard-1"); err != nil {
		t.Fatal(err)
	}
	h := func(pw string) string {
		b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	web := filepath.Join(env.dir, "web.yml")
	os.WriteFile(web, fmt.Appendf(nil, `tls_server_config:
  cert_file: tls/cloud.pem
  key_file: tls/cloud-key.pem
basic_auth_users:
  ops: %s
  grafana-acme: %s
`, h("ops-pw"), h("acme-pw")), 0o600)
	cloudCfg, _ := os.ReadFile(env.cloudConfig)
	os.WriteFile(env.cloudConfig, fmt.Appendf(cloudCfg, `  cert_file: %[1]s/cloud.pem
  key_file: %[1]s/cloud-key.pem
  client_ca_file: %[1]s/ca.pem
  web_config_file: %[2]s
  federate:
    tenant_users:
      grafana-acme: acme
`, tlsDir, web), 0o644)

	// A web config file that does not validate is refused by name, by
	// check-config and by run alike.
	badWeb := filepath.Join(env.dir, "bad-web.yml")
	os.WriteFile(badWeb, []byte("basic_auth_users:\n  ops: plain-text-password\n"), 0o600)
	badCfg := filepath.Join(env.dir, "bad-cloud.yaml")
	good, _ := os.ReadFile(env.cloudConfig)
	os.WriteFile(badCfg, []byte(strings.Replace(string(good), web, badWeb, 1)), 0o644)
	want := "cloud.web_config_file " + badWeb + ": crypto/bcrypt"
	if _, errOut, err := runCLI(t, "check-config", badCfg); err == nil || !strings.Contains(errOut, want) {
		t.Errorf("check-config %s: %v\n%s\nwant a line with %q", badCfg, err, errOut, want)
	}
	if out, errOut, err := runCLI(t, "check-config", env.cloudConfig); err != nil {
		t.Errorf("check-config %s: %v\n%s%s", env.cloudConfig, err, out, errOut)
	}
	bad := start(t, env.bin, "run", "--config", badCfg)
	select {
	case <-bad.done:
	case <-time.After(30 * time.Second):
		t.Fatal("run with a bad web config file did not exit")
	}
	bad.mu.Lock()
	badLogs := bad.logs.String()
	bad.mu.Unlock()
	if bad.err == nil || !strings.Contains(badLogs, want) {
		t.Errorf("run with a bad web config file: %v\n%s", bad.err, badLogs)
	}

	start(t, env.bin, "run", "--config", env.cloudConfig)
	start(t, env.bin, "run", "--config", edgeConfigAs(t, env, "acme-edge", "acme", "plant-7", tlsDir, "edge.pem", "edge-key.pem"))
	start(t, env.bin, "run", "--config", edgeConfigAs(t, env, "bolt-edge", "bolt", "yard-1", tlsDir, "edge-bolt-yard-1.pem", "edge-bolt-yard-1-key.pem"))

	client := tlsClient(t, filepath.Join(tlsDir, "ca.pem"))
	get := func(path, user, pass string) (int, string) {
		return clientGet(client, "https://"+env.cloudHTTP+path, user, pass)
	}
	all := "/federate?match[]=" + url.QueryEscape(`{__name__=~".+"}`)
	waitFor(t, "both tenants' series on the operator's /federate", 60*time.Second, func() bool {
		code, body := get(all, "ops", "ops-pw")
		return code == 200 && strings.Contains(body, `tenant="acme"`) && strings.Contains(body, `tenant="bolt"`)
	})

	for _, tc := range []struct {
		name, path, user, pass string
		code                   int
		acme, bolt             bool
	}{
		{"anonymous", all, "", "", 401, false, false},
		{"wrong password", all, "grafana-acme", "ops-pw", 401, false, false},
		{"tenant user", all, "grafana-acme", "acme-pw", 200, true, false},
		{"tenant user asking for another tenant", all + "&tenant=bolt", "grafana-acme", "acme-pw", 403, false, false},
		{"tenant user's selector naming another tenant", "/federate?match[]=" + url.QueryEscape(`{tenant="bolt"}`), "grafana-acme", "acme-pw", 200, false, false},
		{"operator narrowing", all + "&tenant=bolt", "ops", "ops-pw", 200, false, true},
		{"anonymous /metrics", "/metrics", "", "", 401, false, false},
		{"tenant user's /metrics", "/metrics", "grafana-acme", "acme-pw", 403, false, false},
		{"tenant user's status page", "/", "grafana-acme", "acme-pw", 403, false, false},
		{"anonymous status page", "/", "", "", 401, false, false},
		{"pprof, off by default", "/debug/pprof/", "ops", "ops-pw", 404, false, false},
	} {
		code, body := get(tc.path, tc.user, tc.pass)
		if code != tc.code || strings.Contains(body, `tenant="acme"`) != tc.acme || strings.Contains(body, `tenant="bolt"`) != tc.bolt {
			t.Errorf("%s: %d (acme %v, bolt %v), want %d (acme %v, bolt %v)\n%.300s", tc.name, code,
				strings.Contains(body, `tenant="acme"`), strings.Contains(body, `tenant="bolt"`), tc.code, tc.acme, tc.bolt, body)
		}
	}
	// /api/v1/stream reads as /federate does; a stream runs until the
	// client's 3s timeout ends it.
	short := *client
	short.Timeout = 3 * time.Second
	stream := "https://" + env.cloudHTTP + "/api/v1/stream?match[]=" + url.QueryEscape(`{__name__=~".+"}`)
	for _, tc := range []struct {
		name, query, user, pass string
		code                    int
		acme, bolt              bool
	}{
		{"anonymous stream", "", "", "", 401, false, false},
		{"tenant user's stream of another tenant", "&tenant=bolt", "grafana-acme", "acme-pw", 403, false, false},
		{"tenant user's stream", "", "grafana-acme", "acme-pw", 200, true, false},
		{"operator's stream", "", "ops", "ops-pw", 200, true, true},
	} {
		code, body := clientGet(&short, stream+tc.query, tc.user, tc.pass)
		if code != tc.code || strings.Contains(body, `"tenant":"acme"`) != tc.acme || strings.Contains(body, `"tenant":"bolt"`) != tc.bolt {
			t.Errorf("%s: %d, want %d (acme %v, bolt %v)\n%.300s", tc.name, code, tc.code, tc.acme, tc.bolt, body)
		}
	}
	if code, body := get("/metrics", "ops", "ops-pw"); code != 200 || !metricAtLeast(body, `edgerelay_http_refused_requests_total{reason="unauthorized"}`, 4) {
		t.Errorf("operator's /metrics: %d, refusals not counted:\n%.2000s", code, body)
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		if code, _ := get(p, "", ""); code != 200 {
			t.Errorf("anonymous %s: %d, want 200", p, code)
		}
	}
	if code, _ := httpGet("http://" + env.cloudHTTP + all); code == 200 {
		t.Error("/federate answered over plain HTTP on a TLS listener")
	}
	if code, _ := httpGet("http://" + env.edgeHTTP + "/debug/pprof/"); code != 404 {
		t.Errorf("edge pprof without edge.debug.pprof: %d, want 404", code)
	}

	// A real Prometheus scrapes /federate over TLS as grafana-acme, and,
	// in a second job, without credentials.
	promtest.Require(t, "the HTTP checks passed, the real scraper was not run")
	prom := promtest.Start(t, fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: federate-acme
    honor_labels: true
    metrics_path: /federate
    scheme: https
    params: {'match[]': ['{__name__=~".+"}']}
    basic_auth: {username: grafana-acme, password: acme-pw}
    tls_config: {ca_file: %[1]q}
    static_configs: [{targets: [%[2]q]}]
  - job_name: federate-anonymous
    honor_labels: true
    metrics_path: /federate
    scheme: https
    params: {'match[]': ['{__name__=~".+"}']}
    tls_config: {ca_file: %[1]q}
    static_configs: [{targets: [%[2]q]}]
`, filepath.Join(tlsDir, "ca.pem"), env.cloudHTTP))
	// query maps each series of q's result by tenant and job to its value.
	query := func(q string) map[string]string {
		var res []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if !prom.Query(q, &res) {
			return nil
		}
		got := map[string]string{}
		for _, s := range res {
			v, _ := s.Value[1].(string)
			got[s.Metric["tenant"]+s.Metric["job"]] = v
		}
		return got
	}
	// Several scrapes of each job, each after both tenants were flowing.
	waitFor(t, "5 scrapes of each job in Prometheus", 60*time.Second, func() bool {
		got := query(`count_over_time(up[5m])`)
		n := func(job string) int { var i int; fmt.Sscan(got[job], &i); return i }
		return n("federate-acme") >= 5 && n("federate-anonymous") >= 5
	})
	if up := query(`up`); up["federate-acme"] != "1" || up["federate-anonymous"] != "0" {
		t.Errorf("up: %v, want federate-acme 1 (TLS and basic auth accepted), federate-anonymous 0 (401)", up)
	}
	byTenant := query(`count by (tenant) ({__name__=~".+",tenant!=""})`)
	if len(byTenant) != 1 || byTenant["acme"] == "" || byTenant["acme"] == "0" {
		t.Fatalf("Prometheus stored series of tenants %v, want acme's only", byTenant)
	}
	if got := query(`count({tenant="bolt"})`); len(got) != 0 {
		t.Fatalf("Prometheus stored bolt's series: %v", got)
	}
	t.Logf("Prometheus stored %s series of tenant acme and none of bolt", byTenant["acme"])
}

// tlsClient is an HTTP client trusting the CA in caFile.
func tlsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// clientGet GETs url with basic auth when user is set.
func clientGet(c *http.Client, url, user, pass string) (int, string) {
	req, _ := http.NewRequest("GET", url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// edgeConfigAs writes a copy of env's edge config for another tenant and
// site, with its own data directory and HTTP port, connecting with the
// client pair cert/key from tlsDir, and returns its path.
func edgeConfigAs(t *testing.T, env *e2eEnv, name, tenant, site, tlsDir, cert, key string) string {
	t.Helper()
	b, _ := os.ReadFile(env.edgeConfig)
	s := strings.Replace(string(b), "tenant: acme", "tenant: "+tenant, 1)
	s = strings.Replace(s, "site: plant-7", "site: "+site, 1)
	s = strings.Replace(s, "data_dir: "+env.dir+"/edge", "data_dir: "+env.dir+"/"+name, 1)
	if name != "acme-edge" {
		s = strings.Replace(s, env.edgeHTTP, freePort(t, "tcp"), 1)
	}
	s = strings.Replace(s, "    insecure_skip_verify: true\n", fmt.Sprintf("    ca_file: %[1]s/ca.pem\n    cert_file: %[1]s/%[2]s\n    key_file: %[1]s/%[3]s\n", tlsDir, cert, key), 1)
	path := filepath.Join(env.dir, name+".yaml")
	os.WriteFile(path, []byte(s), 0o644)
	return path
}
