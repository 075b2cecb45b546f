package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestCertificateDecidesIdentity runs a cloud with client_ca_file and two
// edges holding the pair `edgerelay certs` made for tenant acme, site
// plant-7: the one that claims tenant victim-tenant is refused and counted,
// and nothing is written for that tenant (files, /federate, remote_write
// out); the one that claims what its
// certificate says is accepted. A pair added later with --tenant/--site
// works the same way for its own site.
func TestCertificateDecidesIdentity(t *testing.T) {
	env := newEnv(t)
	tlsDir := filepath.Join(env.dir, "tls")
	out, _, err := runCLI(t, "certs", "--out", tlsDir)
	if err != nil || !strings.Contains(out, "tenant acme, site plant-7") {
		t.Fatalf("certs: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "certs", "--out", tlsDir, "--tenant", "acme", "--site", "plant-8")
	if err != nil || !strings.Contains(out, "edge-acme-plant-8.pem") {
		t.Fatalf("certs --tenant acme --site plant-8: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "certs", "--out", tlsDir); err == nil {
		t.Fatal("certs over an existing CA without --tenant/--site succeeded")
	}
	// With client certificates the cloud serves several tenants: /federate
	// needs credentials, an operator's here.
	web := filepath.Join(env.dir, "web.yml")
	hash, _ := bcrypt.GenerateFromPassword([]byte("ops-pw"), bcrypt.MinCost)
	os.WriteFile(web, fmt.Appendf(nil, "basic_auth_users:\n  ops: %s\n", hash), 0o600)
	// remote_write out goes to a receiver that records every tenant it sees.
	var tenantsMu sync.Mutex
	tenantsOut := map[string]int{}
	rw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := readWrite(w, r)
		if !ok {
			return
		}
		tenantsMu.Lock()
		for _, ts := range req.Timeseries {
			for _, l := range ts.Labels {
				if l.Name == "tenant" {
					tenantsOut[l.Value] += len(ts.Samples)
				}
			}
		}
		tenantsMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rw.Close)
	cloudCfg, _ := os.ReadFile(env.cloudConfig)
	os.WriteFile(env.cloudConfig, fmt.Appendf(cloudCfg, `  cert_file: %[1]s/cloud.pem
  key_file: %[1]s/cloud-key.pem
  client_ca_file: %[1]s/ca.pem
  web_config_file: %[2]s
  remote_write:
    - url: %[3]s/api/v1/write
`, tlsDir, web, rw.URL), 0o644)
	cloudURL := "http://ops:ops-pw@" + env.cloudHTTP
	edgeAs := func(name, tenant, site, cert, key string) string {
		return edgeConfigAs(t, env, name, tenant, site, tlsDir, cert, key)
	}
	start(t, env.bin, "run", "--config", env.cloudConfig)
	liar := start(t, env.bin, "run", "--config", edgeAs("liar", "victim-tenant", "plant-7", "edge.pem", "edge-key.pem"))

	refused := func() bool {
		_, body := httpGet(cloudURL + "/metrics")
		return metricAtLeast(body, `edgerelay_cloud_auth_refused_total{reason="identity_mismatch"}`, 2)
	}
	waitFor(t, "the cloud to refuse the edge claiming another tenant twice", 30*time.Second, refused)
	liar.mu.Lock()
	liarLogs := liar.logs.String()
	liar.mu.Unlock()
	if !strings.Contains(liarLogs, `certificate names tenant \"acme\" site \"plant-7\"`) && !strings.Contains(liarLogs, `certificate names tenant "acme" site "plant-7"`) {
		t.Errorf("the refused edge's log does not say why:\n%s", liarLogs)
	}

	start(t, env.bin, "run", "--config", edgeAs("honest", "acme", "plant-7", "edge.pem", "edge-key.pem"))
	c8, k8 := "edge-acme-plant-8.pem", "edge-acme-plant-8-key.pem"
	start(t, env.bin, "run", "--config", edgeAs("plant8", "acme", "plant-8", c8, k8))
	waitFor(t, "scrapes of both honest edges in files", 30*time.Second, func() bool {
		_, body := httpGet(cloudURL + `/federate?match[]={job="synth"}`)
		return strings.Contains(body, `site="plant-7"`) && strings.Contains(body, `site="plant-8"`)
	})
	tenantsMu.Lock()
	if tenantsOut["victim-tenant"] != 0 || tenantsOut["acme"] == 0 {
		t.Errorf("remote_write out got samples by tenant %v; want acme's only", tenantsOut)
	}
	tenantsMu.Unlock()
	if _, err := os.Stat(filepath.Join(env.dir, "files", "victim-tenant")); !os.IsNotExist(err) {
		t.Fatalf("files written for the tenant the edge claimed: %v", err)
	}
	// Escaped: a bare '+' in a query is a space, and ". " matches nothing.
	_, body := httpGet(cloudURL + "/federate?match[]=" + url.QueryEscape(`{__name__=~".+"}`))
	if strings.Contains(body, "victim-tenant") || !strings.Contains(body, `tenant="acme"`) {
		t.Fatalf("/federate serves series of the tenant the edge claimed, or none of acme's:\n%.2000s", body)
	}
}

// metricAtLeast reports whether the exposition body has the series with a
// value of at least min.
func metricAtLeast(body, series string, min float64) bool {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f >= min
		}
	}
	return false
}
