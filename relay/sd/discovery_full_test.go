//go:build full

package sd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/prometheus/prometheus/discovery/consul"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// TestDiscoveryAdapter runs Prometheus' consul_sd, against a local
// server answering as Consul does, through Discovery in a Manager: the
// service's instance arrives with Prometheus' consul meta labels, and
// Prometheus' consul metrics are registered where Metrics are.
func TestDiscoveryAdapter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Consul-Index", "1")
		switch r.URL.Path {
		case "/v1/agent/self":
			_, _ = w.Write([]byte(`{"Config":{"Datacenter":"dc1"}}`))
		case "/v1/catalog/services":
			_, _ = w.Write([]byte(`{"node":["edge"]}`))
		case "/v1/health/service/node":
			_, _ = w.Write([]byte(`[{"Node":{"Node":"n1","Address":"10.0.0.1","Datacenter":"dc1"},
				"Service":{"ID":"node1","Service":"node","Tags":["edge"],"Address":"10.0.0.1","Port":9100},"Checks":[]}]`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var pc consul.SDConfig
	if err := yaml.UnmarshalStrict([]byte("{server: '"+strings.TrimPrefix(srv.URL, "http://")+"', services: [node]}"), &pc); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, wait := runManager(t, m, map[string][]Config{"c": {Discovery{&pc}}})
	got := wait(func(u map[string][]*targetgroup.Group) bool { return len(u["c"]) == 1 })
	g := got["c"][0]
	if a := g.Targets[0][model.AddressLabel]; a != "10.0.0.1:9100" {
		t.Errorf("target %q", a)
	}
	if g.Labels["__meta_consul_service"] != "node" || g.Labels["__meta_consul_dc"] != "dc1" {
		t.Errorf("labels %v", g.Labels)
	}
	if n, err := testutil.GatherAndCount(reg, "prometheus_sd_consul_rpc_failures_total"); err != nil || n != 1 {
		t.Errorf("Prometheus' consul_sd metrics registered: %d, %v", n, err)
	}
	if _, err := m.mechanism(&pc); err != nil {
		t.Errorf("second use of the mechanism: %v", err)
	}
}
