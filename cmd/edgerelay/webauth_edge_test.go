package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgerelay/edgerelay/internal/promtest"
)

// TestEdgeWebConfig runs an edge whose HTTP listener has a Prometheus web
// config file (TLS, user prom): a real Prometheus remote-writes to it over
// TLS with basic_auth, and its samples reach the cloud's /federate; an
// anonymous or plain-HTTP remote_write is refused, health checks stay open,
// and pprof answers when edge.debug.pprof is on.
func TestEdgeWebConfig(t *testing.T) {
	promtest.Require(t, "it is the remote_write sender here")
	env := newEnv(t)
	tlsDir := filepath.Join(env.dir, "tls")
	if _, _, err := runCLI(t, "certs", "--out", tlsDir); err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("prom-pw"), bcrypt.MinCost)
	web := filepath.Join(env.dir, "edge-web.yml")
	os.WriteFile(web, fmt.Appendf(nil, "tls_server_config:\n  cert_file: tls/cloud.pem\n  key_file: tls/cloud-key.pem\nbasic_auth_users:\n  prom: %s\n", hash), 0o600)
	env.edit(t, "  http_listen: "+env.edgeHTTP+"\n", "  http_listen: "+env.edgeHTTP+"\n  web_config_file: "+web+"\n  debug: {pprof: true}\n")
	start(t, env.bin, "run", "--config", env.cloudConfig)
	start(t, env.bin, "run", "--config", env.edgeConfig)

	client := tlsClient(t, filepath.Join(tlsDir, "ca.pem"))
	get := func(path, user, pass string) int {
		code, _ := clientGet(client, "https://"+env.edgeHTTP+path, user, pass)
		return code
	}
	waitFor(t, "the edge's TLS listener", 30*time.Second, func() bool { return get("/-/ready", "", "") == 200 })
	for _, tc := range []struct {
		path, user string
		code       int
	}{
		{"/-/healthy", "", 200},
		{"/metrics", "", 401},
		{"/metrics", "prom", 200},
		{"/api/v1/write", "", 401},
		{"/debug/pprof/", "prom", 200},
		{"/debug/pprof/", "", 401},
	} {
		if code := get(tc.path, tc.user, "prom-pw"); code != tc.code {
			t.Errorf("%s as %q: %d, want %d", tc.path, tc.user, code, tc.code)
		}
	}
	if code, _ := httpGet("http://" + env.edgeHTTP + "/-/healthy"); code == 200 {
		t.Error("the edge answered plain HTTP on its TLS listener")
	}

	promAddr := promtest.FreeAddr(t)
	promtest.StartAt(t, promAddr, fmt.Sprintf(`
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: promself
    static_configs: [{targets: [%[1]q]}]
remote_write:
  - url: https://%[2]s/api/v1/write
    basic_auth: {username: prom, password: prom-pw}
    tls_config: {ca_file: %[3]q}
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
`, promAddr, env.edgeHTTP, filepath.Join(tlsDir, "ca.pem")))
	waitFor(t, "Prometheus' remote_write through the edge on the cloud's /federate", 60*time.Second, func() bool {
		_, body := httpGet("http://" + env.cloudHTTP + `/federate?match[]={job="promself"}`)
		return strings.Contains(body, `prometheus_build_info{`) && strings.Contains(body, `site="plant-7"`)
	})
}
