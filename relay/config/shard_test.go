package config

import (
	"strings"
	"testing"
)

func TestScrapeShardValidation(t *testing.T) {
	base := "edge: {tenant: acme, site: s1, upstream: {address: 'c:4433'}, scrape_shard: %s}\n"
	for _, tc := range []struct {
		name, shard, wantErr string
	}{
		{"static", "{index: 2, count: 3}", ""},
		{"one share", "{count: 1}", ""},
		{"index past count", "{index: 3, count: 3}", "edge.scrape_shard.index must be in [0, 3) (edge.scrape_shard.count); got 3"},
		{"negative index", "{index: -1, count: 3}", "edge.scrape_shard.index must be in [0, 3)"},
		{"no count", "{index: 0}", "edge.scrape_shard.count must be >= 1; got 0"},
		{"etcd with index", "{count: 2, etcd: {endpoints: ['http://127.0.0.1:2379']}}", "edge.scrape_shard.index and count do not go with edge.scrape_shard.etcd"},
		{"etcd without endpoints", "{etcd: {}}", "edge.scrape_shard.etcd.endpoints is required"},
		{"etcd bad endpoint", "{etcd: {endpoints: ['127.0.0.1:2379']}}", "edge.scrape_shard.etcd.endpoints[0] must be an http:// or https:// URL"},
		{"etcd short ttl", "{etcd: {endpoints: ['http://e:2379'], ttl: 1s}}", "edge.scrape_shard.etcd.ttl must be at least 2s; got 1s"},
		{"unknown key", "{index: 0, count: 2, shards: 3}", "shards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(strings.ReplaceAll(base, "%s", tc.shard)))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Edge.ScrapeShard == nil {
					t.Fatal("scrape_shard not kept")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}
