package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/etcdtest"
	"github.com/edgerelay/edgerelay/relay/member"
	"github.com/edgerelay/edgerelay/relay/synth"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// clusterCloud is one cloud process of a cluster.
type clusterCloud struct {
	id, quic, http, dir, config string
	p                           *proc
}

// clusterEdge is one edge process, its site and its synthetic target.
type clusterEdge struct {
	site, http, config string
	target             *synth.Target
	p                  *proc
}

const clusterTTL = 3 * time.Second

// TestFleetClouds runs three cloud processes in a cluster whose members
// hold etcd leases, and six edges whose sites the clouds share by
// rendezvous hashing; every edge dials the first cloud, as it would a
// load balancer's address, and is sent on to its site's cloud. Then:
//   - one cloud stops (SIGTERM): it leaves the cluster and drains its
//     sites to the others at a delta generation boundary; it starts again
//     and takes its sites back the same way. Nothing is lost, nothing
//     written twice;
//   - another cloud is killed (SIGKILL) under load: its edges notice
//     within the idle timeout, and after its lease's TTL the survivors own
//     its sites. The new owner lacks the delta bases the edges encoded
//     their unacknowledged scrapes against: it asks for them, the edges
//     resend the acknowledged blocks of their generation, which it applies
//     without writing, and then every scrape decodes. Nothing is lost.
//
// At the end every scrape of every site is in the files, once: the only
// scrapes in two clouds' files are the killed cloud's last ones, which it
// made durable without its acknowledgement reaching the edge (counted);
// each site's series are on exactly one live cloud's /federate.
func TestFleetClouds(t *testing.T) {
	fleetOnly(t)
	bin := buildBinary(t)
	etcd := etcdtest.Start(t)
	dir := t.TempDir()

	clouds := make([]*clusterCloud, 3)
	var all []member.Member
	for i := range clouds {
		c := &clusterCloud{id: fmt.Sprint("c", i+1), quic: freePort(t, "udp"), http: freePort(t, "tcp")}
		c.dir = filepath.Join(dir, c.id)
		c.config = filepath.Join(dir, c.id+".yaml")
		os.WriteFile(c.config, fmt.Appendf(nil, `
cloud:
  quic_listen: %s
  http_listen: %s
  data_dir: %s/data
  files_dir: %s/files
  cluster:
    self: %s
    etcd: {endpoints: [%q], prefix: /fleet/clouds/, ttl: %s}
`, c.quic, c.http, c.dir, c.dir, c.id, etcd.Endpoint, clusterTTL), 0o644)
		clouds[i] = c
		all = append(all, member.Member{ID: c.id, Addr: c.quic})
	}
	owner := func(site string, live []member.Member) string {
		m, _ := member.Owner("acme/"+site, live)
		return m.ID
	}
	// Two sites per cloud.
	var sites []string
	count := map[string]int{}
	for i := 0; len(sites) < 6; i++ {
		s := fmt.Sprint("site-", i)
		if o := owner(s, all); count[o] < 2 {
			count[o]++
			sites = append(sites, s)
		}
	}
	for _, c := range clouds {
		c.p = start(t, bin, "run", "--config", c.config)
	}
	for _, c := range clouds {
		waitFor(t, c.id+" in a cluster of 3", 60*time.Second, func() bool {
			return metric(t, "http://"+c.http+"/metrics", "edgerelay_cluster_members") == 3
		})
	}

	edges := make([]*clusterEdge, len(sites))
	for i, s := range sites {
		e := &clusterEdge{site: s, http: freePort(t, "tcp"), config: filepath.Join(dir, s+".yaml"), target: &synth.Target{Series: 20}}
		ts := httptest.NewServer(e.target)
		t.Cleanup(ts.Close)
		os.WriteFile(e.config, fmt.Appendf(nil, `
edge:
  tenant: acme
  site: %s
  data_dir: %s/%s
  http_listen: %s
  scrape_configs:
    - job_name: synth
      scrape_interval: 1s
      scrape_timeout: 900ms
      static_configs: [{targets: [%q]}]
  upstream:
    address: %s
    server_name: localhost
    insecure_skip_verify: true
    max_backoff: 1s
`, s, dir, s, e.http, strings.TrimPrefix(ts.URL, "http://"), clouds[0].quic), 0o644)
		e.p = start(t, bin, "run", "--config", e.config)
		edges[i] = e
	}

	// Each site flows to its owner.
	waitSites(t, clouds, sites, func(site string) string { return owner(site, all) }, 3, 120*time.Second)
	for _, c := range clouds[1:] {
		if n := metric(t, "http://"+c.http+"/metrics", "edgerelay_cluster_sites_owned"); n != 2 {
			t.Errorf("%s owns %v sites, want 2", c.id, n)
		}
	}
	if n := sumMetric(t, edges, "edgerelay_uplink_redirects_followed_total"); n < 4 {
		t.Errorf("edges followed %v redirects, want at least 4 (4 sites of other clouds dialled the first)", n)
	}

	// c2 leaves (SIGTERM) and comes back.
	c2, c3 := clouds[1], clouds[2]
	without := func(id string) []member.Member {
		return slices.DeleteFunc(slices.Clone(all), func(m member.Member) bool { return m.ID == id })
	}
	c2.p.stopWith(t, syscall.SIGTERM)
	if !strings.Contains(c2.p.output(), "left the cluster") {
		t.Errorf("c2 did not say it left the cluster")
	}
	waitSites(t, clouds, sites, func(site string) string { return owner(site, without("c2")) }, 3, 120*time.Second)
	c2.p = start(t, bin, "run", "--config", c2.config)
	waitSites(t, clouds, sites, func(site string) string { return owner(site, all) }, 3, 120*time.Second)

	// c3 dies.
	var c3Sites []string
	for _, s := range sites {
		if owner(s, all) == "c3" {
			c3Sites = append(c3Sites, s)
		}
	}
	c3.p.cmd.Process.Signal(syscall.SIGKILL)
	<-c3.p.done
	killed := time.Now()
	waitSites(t, clouds, sites, func(site string) string { return owner(site, without("c3")) }, 3, 180*time.Second)
	t.Logf("sites of the killed cloud flowed again %v after the kill, their first scrape written at the new owner after %v (lease TTL %v, edge idle timeout %v)",
		time.Since(killed).Round(100*time.Millisecond), firstAfter(clouds, c3Sites, func(site string) string { return owner(site, without("c3")) }, killed),
		clusterTTL, transport.DefaultClientIdleTimeout)

	// Every edge's queue empties; then count every scrape in every
	// cloud's files.
	checkAfterKill(t, clouds, edges, c3Sites, func(site string) [2]string {
		return [2]string{owner(site, all), owner(site, without("c3"))}
	})
}

// checkAfterKill checks, once every edge's queue is empty, that every
// scrape of every site is in the files once, except the killed cloud c3's
// last scrapes of its sites (checkDurableUnacked), that no survivor lost a
// frame without its base, and that each site is on one /federate. owners
// names a site's cloud before and after the kill.
func checkAfterKill(t *testing.T, clouds []*clusterCloud, edges []*clusterEdge, c3Sites []string, owners func(string) [2]string) {
	t.Helper()
	var sites []string
	last := map[string]int64{}
	for _, e := range edges {
		waitDrained(t, e.site, "http://"+e.http+"/metrics")
		last[e.site] = e.target.Scrapes() - 2
		sites = append(sites, e.site)
	}
	checkFederateOnce(t, clouds[:2], sites)
	for _, c := range clouds[:2] {
		if n := metric(t, "http://"+c.http+"/metrics", `edgerelay_cloud_delta_frames_total{outcome="no_base"}`); n != 0 {
			t.Errorf("%s lost %v delta frames without their base", c.id, n)
		}
	}
	replayed := sumMetric(t, edges, "edgerelay_uplink_replayed_blocks_total")
	if replayed == 0 {
		t.Errorf("no edge resent the acknowledged blocks of its generation to the killed cloud's successor")
	}
	seen := scrapesByCloud(t, clouds)
	durableUnacked := 0
	for _, s := range sites {
		first, gaps, twice := int64(-1), []int64{}, []int64{}
		for n := int64(1); n <= last[s]; n++ {
			in := seen[s][n]
			if first < 0 {
				if len(in) == 0 {
					continue
				}
				first = n
			}
			switch {
			case len(in) == 0:
				gaps = append(gaps, n)
			case len(in) > 1:
				twice = append(twice, n)
			}
		}
		killedSite := slices.Contains(c3Sites, s)
		t.Logf("site %s (owner at the kill %s): scrapes %d..%d, lost %d %v, in two clouds %d %v",
			s, owners(s)[0], first, last[s], len(gaps), gaps, len(twice), twice)
		if len(gaps) > 0 || (!killedSite && len(twice) > 0) {
			t.Errorf("site %s lost scrapes %v or has scrapes in two clouds %v: only the killed cloud's sites may have its last scrapes twice", s, gaps, twice)
		}
		if killedSite {
			checkDurableUnacked(t, s, seen[s], twice, owners(s)[1])
			durableUnacked += len(twice)
		}
	}
	t.Logf("after the SIGKILL: %.0f acknowledged blocks resent to rebuild delta bases, no scrape lost, %d scrapes written twice (made durable by the killed cloud, acknowledgement lost)",
		replayed, durableUnacked)
}

// checkDurableUnacked checks that the scrapes of site in two clouds'
// files are the newest the killed cloud c3 wrote, each written again by
// the site's new owner and by no other cloud: blocks c3 made durable
// whose acknowledgement never reached the edge, resent to the new owner.
func checkDurableUnacked(t *testing.T, site string, seen map[int64][]string, twice []int64, newOwner string) {
	t.Helper()
	var c3Max int64
	for n, in := range seen {
		if slices.Contains(in, "c3") {
			c3Max = max(c3Max, n)
		}
	}
	for i, n := range twice {
		in := slices.Clone(seen[n])
		slices.Sort(in)
		if want := []string{"c3", newOwner}; len(in) != 2 || !slices.Contains(in, "c3") || !slices.Contains(in, newOwner) {
			t.Errorf("site %s: scrape %d is in %v, want %v", site, n, in, want)
		}
		if n != c3Max-int64(len(twice)-1-i) {
			t.Errorf("site %s: scrapes %v in two clouds are not the killed cloud's last (its newest is %d)", site, twice, c3Max)
			return
		}
	}
}

// firstAfter returns how long after since the first scrape of any of sites
// was written by its owner (want), or 0 when none was.
func firstAfter(clouds []*clusterCloud, sites []string, want func(string) string, since time.Time) time.Duration {
	var first time.Time
	for _, s := range sites {
		for _, c := range clouds {
			if c.id != want(s) {
				continue
			}
			dirs, _ := filepath.Glob(filepath.Join(c.dir, "files", "acme", s, "*", "*"))
			for _, d := range dirs {
				if fi, err := os.Stat(d); err == nil && fi.IsDir() && filepath.Base(d) != "latest" && fi.ModTime().After(since) &&
					(first.IsZero() || fi.ModTime().Before(first)) {
					first = fi.ModTime()
				}
			}
		}
	}
	if first.IsZero() {
		return 0
	}
	return first.Sub(since).Round(100 * time.Millisecond)
}

// waitSites waits until each site has at least n scrapes newer than now
// in the files of the cloud want names, and none newer than now in
// another cloud's.
func waitSites(t *testing.T, clouds []*clusterCloud, sites []string, want func(string) string, n int, timeout time.Duration) {
	t.Helper()
	since := time.Now()
	waitFor(t, "each site flowing to its cloud", timeout, func() bool {
		for _, s := range sites {
			for _, c := range clouds {
				got := newScrapes(c, s, since)
				if c.id == want(s) && got < n {
					return false
				}
			}
		}
		return true
	})
	for _, s := range sites {
		for _, c := range clouds {
			if c.id != want(s) {
				if got := newScrapes(c, s, since.Add(10*time.Second)); got > 0 {
					t.Errorf("site %s: %d scrapes in %s's files, which does not own it", s, got, c.id)
				}
			}
		}
	}
}

// newScrapes counts the scrape directories of site in c's files made
// after since.
func newScrapes(c *clusterCloud, site string, since time.Time) int {
	dirs, _ := filepath.Glob(filepath.Join(c.dir, "files", "acme", site, "*", "*"))
	n := 0
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && filepath.Base(d) != "latest" && fi.ModTime().After(since) {
			n++
		}
	}
	return n
}

// scrapesByCloud maps site → synth scrape number → the clouds whose files
// hold it.
func scrapesByCloud(t *testing.T, clouds []*clusterCloud) map[string]map[int64][]string {
	out := map[string]map[int64][]string{}
	for _, c := range clouds {
		for _, sf := range readScrapes(t, filepath.Join(c.dir, "files")) {
			site := filepath.Base(filepath.Dir(filepath.Dir(sf.dir)))
			for k, v := range sf.samples {
				if strings.HasPrefix(k, "{__name__=\"synth_scrape_number\"") {
					if out[site] == nil {
						out[site] = map[int64][]string{}
					}
					out[site][int64(v)] = append(out[site][int64(v)], c.id)
				}
			}
		}
	}
	return out
}

// checkFederateOnce checks each site's series are on exactly one of the
// clouds' /federate.
func checkFederateOnce(t *testing.T, clouds []*clusterCloud, sites []string) {
	t.Helper()
	for _, s := range sites {
		var on []string
		for _, c := range clouds {
			code, body := httpGet(fmt.Sprintf("http://%s/federate?match[]={site=%%22%s%%22}", c.http, s))
			if code == 200 && strings.Contains(body, "synth_scrape_number") {
				on = append(on, c.id)
			}
		}
		if len(on) != 1 {
			t.Errorf("site %s is on /federate of %v, want exactly one cloud", s, on)
		}
	}
}

func sumMetric(t *testing.T, edges []*clusterEdge, name string) float64 {
	var n float64
	for _, e := range edges {
		n += metric(t, "http://"+e.http+"/metrics", name)
	}
	return n
}

// output is what the process has logged so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}
