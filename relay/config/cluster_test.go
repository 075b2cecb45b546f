package config

import (
	"strings"
	"testing"
	"time"
)

func TestCluster(t *testing.T) {
	good := `
cloud:
  quic_listen: 127.0.0.1:4433
  cluster:
    self: a
    members: [{id: a, address: "127.0.0.1:4433"}, {id: b, address: "127.0.0.2:4433"}]
`
	c, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.Cloud.Cluster; cl.Address != "127.0.0.1:4433" || len(cl.Members) != 2 {
		t.Fatalf("cluster %+v: address not defaulted to quic_listen", cl)
	}
	c, err = Parse([]byte("cloud:\n  quic_listen: 10.0.0.1:4433\n  client_ca_file: ca.pem\n  cluster: {self: a, etcd: {endpoints: [\"http://127.0.0.1:2379\"]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Cloud.Cluster.Etcd; e.Prefix != DefaultClusterPrefix || e.TTL != 10*time.Second {
		t.Fatalf("etcd defaults %+v", e)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"cluster: {self: a}", "cloud.cluster needs exactly one of members and etcd"},
		{"cluster: {self: a, members: [{id: a, address: '127.0.0.1:4433'}], etcd: {endpoints: ['http://x:2379']}}", "exactly one of members and etcd"},
		{"cluster: {self: 'a/b', etcd: {endpoints: ['http://x:2379']}}", `cloud.cluster.self must be letters`},
		{"cluster: {self: a, etcd: {endpoints: ['x:2379']}}", `cloud.cluster.etcd.endpoints[0] must be an http:// or https:// URL; got "x:2379"`},
		{"cluster: {self: a, etcd: {endpoints: ['http://x:2379'], ttl: 1s}}", "cloud.cluster.etcd.ttl must be at least 2s; got 1s"},
		{"cluster: {self: a, etcd: {endpoints: ['http://x:2379'], tll: 5s}}", "tll"},
		{"cluster: {self: a, etcd: {endpoints: []}}", "cloud.cluster.etcd.endpoints is required"},
		{"cluster: {self: a, members: [{id: b, address: '127.0.0.2:4433'}]}", `cloud.cluster.members must list this cloud (cloud.cluster.self "a")`},
		{"cluster: {self: a, members: [{id: a, address: '127.0.0.1:4433'}, {id: a, address: '127.0.0.1:4433'}]}", `cloud.cluster.members[1].id "a" is listed twice`},
		{"cluster: {self: a, members: [{id: a, address: '127.0.0.9:4433'}]}", `differs from cloud.cluster.address "127.0.0.1:4433"`},
		{"cluster: {self: a, members: [{id: a, address: '127.0.0.1:4433'}, {id: b, address: nowhere}]}", `cloud.cluster.members[1].address must be host:port; got "nowhere"`},
		{"quic_listen: '0.0.0.0:4433'\n  cluster: {self: a, etcd: {endpoints: ['http://x:2379']}}", "cloud.cluster.address must be where edges reach this cloud, not a wildcard"},
	} {
		y := "cloud:\n  " + tc.yaml + "\n"
		if !strings.Contains(tc.yaml, "quic_listen") {
			y = "cloud:\n  quic_listen: 127.0.0.1:4433\n  " + tc.yaml + "\n"
		}
		_, err := Parse([]byte(y))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.yaml, err, tc.want)
		}
	}
}
