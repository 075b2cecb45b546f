package config

import (
	"fmt"
	"net"
	"net/url"
	"time"
)

// Cluster configures cloud.cluster: several cloud relays behind DNS or a
// UDP load balancer, each site served by one of them, chosen by
// rendezvous hashing of tenant/site over the live members (package
// relay/member). A cloud that receives a site another serves sends its
// edge there (REDIRECT, uplink protocol version 5).
type Cluster struct {
	// Self is this cloud's id in the cluster: stable across restarts,
	// unique. Required.
	Self string `yaml:"self"`
	// Address is where edges reach this cloud over QUIC, told to edges
	// redirected here; default cloud.quic_listen (which must then not be
	// a wildcard address).
	Address string `yaml:"address"`
	// Members is the whole cluster, this cloud included, when it is
	// static. Exactly one of members and etcd.
	Members []ClusterMember `yaml:"members"`
	// Etcd is where clouds find each other when members come and go.
	Etcd *ClusterEtcd `yaml:"etcd"`
}

// ClusterMember is one cloud of a static cluster.
type ClusterMember struct {
	ID      string `yaml:"id"`
	Address string `yaml:"address"`
}

// ClusterEtcd is a cluster whose members hold leases in etcd.
type ClusterEtcd struct {
	// Endpoints are etcd client URLs (http://host:2379). Required.
	Endpoints []string `yaml:"endpoints"`
	// Prefix of the members' keys; default /edgerelay/clouds/.
	Prefix string `yaml:"prefix"`
	// TTL of each member's lease: a cloud that dies keeps its sites this
	// long, and one cut off from etcd stops taking its sites within it.
	// Default 10s, at least 2s.
	TTL time.Duration `yaml:"ttl"`
}

// DefaultClusterPrefix is cloud.cluster.etcd.prefix when empty.
const DefaultClusterPrefix = "/edgerelay/clouds/"

func (cl *Cloud) applyClusterDefaults() {
	c := cl.Cluster
	if c == nil {
		return
	}
	setDefault(&c.Address, cl.QUICListen)
	if c.Etcd != nil {
		setDefault(&c.Etcd.Prefix, DefaultClusterPrefix)
		setDefault(&c.Etcd.TTL, 10*time.Second)
	}
}

// validateCluster returns the problems of cloud.cluster.
func (cl *Cloud) validateCluster() []error {
	c := cl.Cluster
	if c == nil {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !ValidName(c.Self) {
		bad("cloud.cluster.self must be letters, digits, '-', '_' or '.'; got %q", c.Self)
	}
	if host, _, err := net.SplitHostPort(c.Address); err != nil {
		bad("cloud.cluster.address must be host:port; got %q", c.Address)
	} else if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		bad("cloud.cluster.address must be where edges reach this cloud, not a wildcard; got %q (set it when cloud.quic_listen listens on every address)", c.Address)
	}
	switch {
	case (len(c.Members) > 0) == (c.Etcd != nil):
		bad("cloud.cluster needs exactly one of members and etcd")
	case c.Etcd != nil:
		e := c.Etcd
		if len(e.Endpoints) == 0 {
			bad("cloud.cluster.etcd.endpoints is required")
		}
		for i, ep := range e.Endpoints {
			if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("cloud.cluster.etcd.endpoints[%d] must be an http:// or https:// URL; got %q", i, ep)
			}
		}
		if e.TTL < 2*time.Second {
			bad("cloud.cluster.etcd.ttl must be at least 2s; got %s", e.TTL)
		}
	default:
		seen, self := map[string]bool{}, false
		for i, m := range c.Members {
			if !ValidName(m.ID) {
				bad("cloud.cluster.members[%d].id must be letters, digits, '-', '_' or '.'; got %q", i, m.ID)
			}
			if seen[m.ID] {
				bad("cloud.cluster.members[%d].id %q is listed twice", i, m.ID)
			}
			seen[m.ID] = true
			if _, _, err := net.SplitHostPort(m.Address); err != nil {
				bad("cloud.cluster.members[%d].address must be host:port; got %q", i, m.Address)
			}
			if m.ID == c.Self {
				self = true
				if m.Address != c.Address {
					bad("cloud.cluster.members[%d].address %q is this cloud's, and differs from cloud.cluster.address %q", i, m.Address, c.Address)
				}
			}
		}
		if !self && ValidName(c.Self) {
			bad("cloud.cluster.members must list this cloud (cloud.cluster.self %q)", c.Self)
		}
	}
	return errs
}
