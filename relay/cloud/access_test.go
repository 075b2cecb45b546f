package cloud

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/edgerelay/edgerelay/relay/config"
)

// TestAccess pins who reads what over the cloud's HTTP listener: tenant
// users get /federate confined to their tenant and 403 elsewhere, operators
// get everything, anonymous requests get 401 wherever users are configured
// and on /federate wherever the cloud serves several tenants; health checks
// stay open.
func TestAccess(t *testing.T) {
	dir := t.TempDir()
	h := func(pw string) string {
		b, _ := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		return string(b)
	}
	web := filepath.Join(dir, "web.yml")
	os.WriteFile(web, fmt.Appendf(nil, "basic_auth_users:\n  ops: %s\n  grafana-acme: %s\n", h("ops-pw"), h("acme-pw")), 0o600)
	tenants := []config.Tenant{{Name: "acme", TokenFile: "x"}, {Name: "bolt", TokenFile: "y"}}
	readers := config.Federate{TenantUsers: map[string]string{"grafana-acme": "acme"}}

	type req struct{ path, user, pass, want string }
	for _, tc := range []struct {
		name string
		cfg  config.Cloud
		reqs []req
	}{
		{"users and tenants", config.Cloud{WebConfigFile: web, Tenants: tenants, Federate: readers}, []req{
			{"/federate", "", "", "401"},
			{"/metrics", "", "", "401"},
			{"/-/healthy", "", "", "200 open"},
			{"/federate", "grafana-acme", "acme-pw", "200 scope=acme"},
			{"/federate", "grafana-acme", "ops-pw", "401"},
			{"/metrics", "grafana-acme", "acme-pw", "403"},
			{"/", "grafana-acme", "acme-pw", "403"},
			{"/federate", "ops", "ops-pw", "200 scope="},
			{"/metrics", "ops", "ops-pw", "200 operator"},
		}},
		{"tenants, no web config", config.Cloud{Tenants: []config.Tenant{{Name: "acme", TokenFile: "x"}}}, []req{
			{"/federate", "", "", "401"},
			{"/metrics", "", "", "200 operator"},
			{"/-/ready", "", "", "200 open"},
		}},
		{"client certificates, no web config", config.Cloud{ClientCAFile: "ca.pem"}, []req{
			{"/federate", "", "", "401"},
		}},
		{"users, no tenants: all operators", config.Cloud{WebConfigFile: web}, []req{
			{"/federate", "", "", "401"},
			{"/federate", "grafana-acme", "acme-pw", "200 scope="},
			{"/metrics", "grafana-acme", "acme-pw", "200 operator"},
		}},
		{"one trusted tenant, no web config", config.Cloud{}, []req{
			{"/federate", "", "", "200 scope="},
			{"/metrics", "", "", "200 operator"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := newAccess(&tc.cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			m := http.NewServeMux()
			m.Handle("/federate", a.federate(func(w http.ResponseWriter, r *http.Request, tenant string) {
				fmt.Fprintf(w, "scope=%s", tenant)
			}, func(int) {}))
			m.Handle("/-/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "open") }))
			m.Handle("/", a.operator(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "operator") })))
			srv := httptest.NewServer(a.web.Handler(m, "/-/healthy", "/-/ready"))
			defer srv.Close()
			for _, r := range tc.reqs {
				hr, _ := http.NewRequest("GET", srv.URL+r.path, nil)
				if r.user != "" {
					hr.SetBasicAuth(r.user, r.pass)
				}
				resp, err := http.DefaultClient.Do(hr)
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				fmt.Fprintf(&b, "%d", resp.StatusCode)
				if resp.StatusCode == 200 {
					body := make([]byte, 100)
					n, _ := resp.Body.Read(body)
					fmt.Fprintf(&b, " %s", body[:n])
				}
				resp.Body.Close()
				if b.String() != r.want {
					t.Errorf("%s as %q: %q, want %q", r.path, r.user, b.String(), r.want)
				}
			}
		})
	}
}

// TestAccessRefusesUnknownFederateUser names a federate user the web config
// file does not have, and a web config file that does not validate.
func TestAccessRefusesUnknownFederateUser(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yml")
	os.WriteFile(web, []byte("basic_auth_users: {}\n"), 0o600)
	cfg := config.Cloud{WebConfigFile: web, Federate: config.Federate{TenantUsers: map[string]string{"typo": "acme"}}}
	_, err := newAccess(&cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), `cloud.federate.tenant_users: "typo" is not one of the basic_auth_users`) {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(web, []byte("basic_auth_users:\n  typo: plain\n"), 0o600)
	_, err = newAccess(&cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "cloud.web_config_file "+web+": crypto/bcrypt") {
		t.Fatalf("err = %v", err)
	}
}
