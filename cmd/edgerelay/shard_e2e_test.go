package main

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// Helpers of the sharding and chaining tests: several clouds and edges as
// real processes, each with its own config and data under one directory.

// fleetNode is one edgerelay process of a fleet test, with its config.
type fleetNode struct {
	http, quic string // quic: clouds only
	config     string
	dir        string
	p          *proc
}

// startFleetCloud writes a cloud config under dir/name (extra: more lines of
// the cloud section, indented by two) and starts it.
func startFleetCloud(t *testing.T, bin, dir, name, extra string) *fleetNode {
	t.Helper()
	n := &fleetNode{http: freePort(t, "tcp"), quic: freePort(t, "udp"), dir: filepath.Join(dir, name)}
	n.config = filepath.Join(dir, name+".yaml")
	os.WriteFile(n.config, fmt.Appendf(nil, `
cloud:
  quic_listen: %s
  http_listen: %s
  data_dir: %s/data
  files_dir: %s/files
%s`, n.quic, n.http, n.dir, n.dir, extra), 0o644)
	n.p = start(t, bin, "run", "--config", n.config)
	waitFor(t, name+" ready", time.Minute, func() bool { c, _ := httpGet("http://" + n.http + "/-/ready"); return c == 200 })
	return n
}

// startFleetEdge writes an edge config of tenant acme, site plant-7 under
// dir/name, shipping to quic, with scrape_configs scrape (entries indented
// by four) and extra lines of the edge section, and starts it.
func startFleetEdge(t *testing.T, bin, dir, name, quic, scrape, extra string) *fleetNode {
	t.Helper()
	n := &fleetNode{http: freePort(t, "tcp"), dir: filepath.Join(dir, name)}
	n.config = filepath.Join(dir, name+".yaml")
	os.WriteFile(n.config, fmt.Appendf(nil, `
edge:
  tenant: acme
  site: plant-7
  data_dir: %s/data
  http_listen: %s
  scrape_configs:
%s  upstream:
    address: %s
    server_name: localhost
    insecure_skip_verify: true
    max_backoff: 1s
%s`, n.dir, n.http, scrape, quic, extra), 0o644)
	n.start(t, bin)
	return n
}

// start (re)starts the node's process from its config.
func (n *fleetNode) start(t *testing.T, bin string) {
	t.Helper()
	n.p = start(t, bin, "run", "--config", n.config)
	waitFor(t, n.config+" ready", time.Minute, func() bool { c, _ := httpGet("http://" + n.http + "/-/ready"); return c == 200 })
}

// synthTargets starts n synthetic targets of series series each and
// returns their addresses and a scrape_configs entry scraping them all as
// job synth every interval.
func synthTargets(t *testing.T, n, series int, interval string) ([]string, string) {
	t.Helper()
	var addrs, quoted []string
	for range n {
		ts := httptest.NewServer(&synth.Target{Series: series})
		t.Cleanup(ts.Close)
		a := strings.TrimPrefix(ts.URL, "http://")
		addrs = append(addrs, a)
		quoted = append(quoted, fmt.Sprintf("%q", a))
	}
	sort.Strings(addrs)
	job := fmt.Sprintf(`    - job_name: synth
      scrape_interval: %s
      scrape_timeout: %s
      static_configs: [{targets: [%s]}]
`, interval, interval, strings.Join(quoted, ", "))
	return addrs, job
}

// federatedUps returns, per instance, the up series of job synth a
// cloud's /federate serves (as label strings).
func federatedUps(t *testing.T, cloudHTTP string) map[string][]string {
	t.Helper()
	code, body := httpGet("http://" + cloudHTTP + `/federate?match[]=up{job="synth"}`)
	if code != 200 {
		return nil
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.LastIndex(line, "}")
		if end < 0 {
			continue
		}
		ls, err := parser.NewParser(parser.Options{}).ParseMetric(line[:end+1])
		if err != nil {
			t.Fatalf("/federate line %q: %v", line, err)
		}
		out[ls.Get("instance")] = append(out[ls.Get("instance")], ls.String())
	}
	return out
}

// TestShardStaticEdges: two edges of one site share one scrape_configs of
// eight targets with static shares 0 and 1 of 2 (each with an external
// label naming it, so the cloud shows who scraped what). Every target
// reaches the cloud's /federate scraped by exactly one of them, the
// shares' counts add up, and the cloud writes every target's scrapes.
func TestShardStaticEdges(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addrs, job := synthTargets(t, 8, 5, "500ms")
	cloud := startFleetCloud(t, bin, dir, "cloud", "  federate: {max_age: 1m}\n")
	var edges []*fleetNode
	for i := range 2 {
		extra := fmt.Sprintf("  scrape_shard: {index: %d, count: 2}\n  external_labels: {edge: e%d}\n", i, i)
		edges = append(edges, startFleetEdge(t, bin, dir, fmt.Sprintf("e%d", i), cloud.quic, job, extra))
	}
	waitFor(t, "every target on /federate", 2*time.Minute, func() bool { return len(federatedUps(t, cloud.http)) == len(addrs) })
	for inst, ups := range federatedUps(t, cloud.http) {
		if len(ups) != 1 {
			t.Errorf("target %s scraped by more than one edge: %v", inst, ups)
		}
	}
	scraped := 0.0
	for i, e := range edges {
		s := metric(t, "http://"+e.http+"/metrics", `edgerelay_shard_targets{state="scraped"}`)
		o := metric(t, "http://"+e.http+"/metrics", `edgerelay_shard_targets{state="elsewhere"}`)
		if s+o != float64(len(addrs)) {
			t.Errorf("edge e%d counts %v scraped and %v elsewhere, want %d in all", i, s, o, len(addrs))
		}
		if m := metric(t, "http://"+e.http+"/metrics", "edgerelay_shard_members"); m != 2 {
			t.Errorf("edge e%d: edgerelay_shard_members %v, want 2", i, m)
		}
		scraped += s
	}
	if scraped != float64(len(addrs)) {
		t.Errorf("the edges scrape %v targets between them, want %d", scraped, len(addrs))
	}
	for _, a := range addrs {
		d := filepath.Join(cloud.dir, "files", "acme", "plant-7", strings.ReplaceAll(a, ":", "_")+".synth")
		if m, _ := filepath.Glob(filepath.Join(d, "[0-9]*")); len(m) == 0 {
			t.Errorf("no scrape of %s written under %s", a, d)
		}
	}
}
