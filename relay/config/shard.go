package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ScrapeShard shares one scrape_configs among several edges of a site:
// each scrapes only the targets that fall in its share, so every target
// is scraped by exactly one of them. A target's share is decided by its
// labels after relabel_configs (those its up series carries: job,
// instance and every label not starting with "__"); see package
// relay/scrapeshard.
//
// Either Index and Count fix the share (static), or Etcd makes the edges
// find each other through etcd and share the targets among the live ones
// (rendezvous hashing), moving shares within seconds when an edge joins
// or dies.
type ScrapeShard struct {
	// Index is this edge's share, 0 <= Index < Count.
	Index int `yaml:"index"`
	// Count is how many edges share the scrape_configs; >= 1.
	Count int `yaml:"count"`
	// Etcd, when set, replaces Index and Count by membership in etcd.
	Etcd *ShardEtcd `yaml:"etcd"`
}

// ShardEtcd is membership of the edges sharing scrape_configs in etcd,
// reached through its HTTP/JSON gateway (etcd v3, /v3/...).
type ShardEtcd struct {
	// Endpoints are etcd's client URLs, e.g. http://127.0.0.1:2379; the
	// first that answers is used. Required.
	Endpoints []string `yaml:"endpoints"`
	// Prefix is the key prefix under which members register; default
	// /edgerelay/scrape_shard/<tenant>/<site>/.
	Prefix string `yaml:"prefix"`
	// Name is this edge's member name, unique among the edges sharing the
	// scrape_configs; default the edge's queue id.
	Name string `yaml:"name"`
	// TTL is the lease of this edge's membership: an edge that stops
	// renewing (it died) leaves the set this long after its last renewal.
	// Default 5s; at least 2s (etcd's lease granularity is a second).
	TTL time.Duration `yaml:"ttl"`
	// DialTimeout bounds one attempt to join the group (twice it: a
	// lease grant, a put and a read); attempts repeat, 1s to 10s apart,
	// until one succeeds. Default 2s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
}

// DefaultShardEtcd holds the values unset edge.scrape_shard.etcd fields take
// (Prefix depends on tenant and site: ShardPrefix).
var DefaultShardEtcd = ShardEtcd{TTL: 5 * time.Second, DialTimeout: 2 * time.Second}

// ShardPrefix is the default edge.scrape_shard.etcd.prefix of an edge.
func ShardPrefix(tenant, site string) string {
	return "/edgerelay/scrape_shard/" + tenant + "/" + site + "/"
}

func (e *Edge) applyShardDefaults() {
	s := e.ScrapeShard
	if s == nil || s.Etcd == nil {
		return
	}
	setDefault(&s.Etcd.TTL, DefaultShardEtcd.TTL)
	setDefault(&s.Etcd.DialTimeout, DefaultShardEtcd.DialTimeout)
	setDefault(&s.Etcd.Prefix, ShardPrefix(e.Tenant, e.Site))
}

// validateShard returns the problems of edge.scrape_shard.
func (e *Edge) validateShard() []error {
	s := e.ScrapeShard
	if s == nil {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Etcd == nil {
		if s.Count < 1 {
			bad("edge.scrape_shard.count must be >= 1; got %d", s.Count)
		} else if s.Index < 0 || s.Index >= s.Count {
			bad("edge.scrape_shard.index must be in [0, %d) (edge.scrape_shard.count); got %d", s.Count, s.Index)
		}
		return errs
	}
	if s.Index != 0 || s.Count != 0 {
		bad("edge.scrape_shard.index and count do not go with edge.scrape_shard.etcd: etcd membership decides the shares")
	}
	et := s.Etcd
	if len(et.Endpoints) == 0 {
		bad("edge.scrape_shard.etcd.endpoints is required")
	}
	for i, ep := range et.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("edge.scrape_shard.etcd.endpoints[%d] must be an http:// or https:// URL; got %q", i, ep)
		}
	}
	if !strings.HasPrefix(et.Prefix, "/") || !strings.HasSuffix(et.Prefix, "/") {
		bad("edge.scrape_shard.etcd.prefix must start and end with '/'; got %q", et.Prefix)
	}
	if et.Name != "" && !ValidName(et.Name) {
		bad("edge.scrape_shard.etcd.name must be letters, digits, '-', '_' or '.'; got %q", et.Name)
	}
	if et.TTL < 2*time.Second {
		bad("edge.scrape_shard.etcd.ttl must be at least 2s; got %s", et.TTL)
	}
	if et.DialTimeout <= 0 {
		bad("edge.scrape_shard.etcd.dial_timeout must be > 0; got %s", et.DialTimeout)
	}
	return errs
}
