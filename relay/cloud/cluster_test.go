package cloud

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/member"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// A cloud of a static cluster welcomes the sites it serves, sends the
// others' edges to their cloud, and keeps welcoming a site it holds delta
// bases of after it moved (to drain it); once it has left the cluster it
// serves none.
func TestClusterAtHello(t *testing.T) {
	cfg := &config.Cluster{Self: "a", Address: "127.0.0.1:1", Members: []config.ClusterMember{
		{ID: "a", Address: "127.0.0.1:1"}, {ID: "b", Address: "127.0.0.1:2"}}}
	reg := prometheus.NewRegistry()
	c := newCluster(cfg, slog.New(slog.DiscardHandler), reg, func(func(string, string) bool) int { return 0 })
	if err := c.join(t.Context(), cfg.Address); err != nil {
		t.Fatal(err)
	}
	mine, theirs := "", ""
	for i := 0; mine == "" || theirs == ""; i++ {
		s := fmt.Sprint("site-", i)
		if m, _ := member.Owner("acme/"+s, c.set.Live()); m.ID == "a" {
			mine = s
		} else {
			theirs = s
		}
	}
	if rd := c.atHello(transport.Peer{Tenant: "acme", Site: mine}); rd != nil {
		t.Fatalf("own site redirected: %v", rd)
	}
	rd := c.atHello(transport.Peer{Tenant: "acme", Site: theirs})
	if rd == nil || rd.Addr != "127.0.0.1:2" || rd.Member != "b" {
		t.Fatalf("site of b: redirect %v, want to b at 127.0.0.1:2", rd)
	}
	c.applied(transport.Peer{Tenant: "acme", Site: theirs}, 0, 7)
	if rd := c.atHello(transport.Peer{Tenant: "acme", Site: theirs}); rd != nil {
		t.Fatalf("a site whose bases this cloud holds was redirected before draining: %v", rd)
	}
	c.leave()
	rd = c.atHello(transport.Peer{Tenant: "acme", Site: mine})
	if rd == nil || rd.Member != "b" {
		t.Fatalf("after leaving, own site: redirect %v, want to b", rd)
	}
	if n := metrictest.Value(t, reg, "edgerelay_cluster_redirects_sent_total", "at", "hello"); n != 2 {
		t.Fatalf("redirects counted %v, want 2", n)
	}
	if n := metrictest.Value(t, reg, "edgerelay_cluster_members"); n != 1 {
		t.Fatalf("members after leaving %v, want 1", n)
	}
}
