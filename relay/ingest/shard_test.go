package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/member"
	"github.com/edgerelay/edgerelay/relay/scrapeshard"
)

// shardSink records which targets one scraper scraped, and stale markers.
type shardSink struct {
	mu      sync.Mutex
	scrapes map[string]int // job/instance → scrapes
	stale   int            // samples that are staleness markers
}

func (s *shardSink) Submit(_ context.Context, b *relay.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scrapes == nil {
		s.scrapes = map[string]int{}
	}
	for _, sr := range b.Series {
		for _, smp := range sr.Samples {
			if value.IsStaleNaN(smp.V) {
				s.stale++
			}
		}
	}
	if b.Scrape && b.Job != "" {
		s.scrapes[b.Job+"/"+b.Instance]++
	}
	return nil
}

func (s *shardSink) snapshot() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.scrapes))
	for k, v := range s.scrapes {
		m[k] = v
	}
	return m, s.stale
}

// shardJobs is two jobs over the same targets, one of them with
// extra_scrape_metrics, with a relabelled label so the share is taken
// after relabel_configs.
func shardJobs(addrs []string) string {
	quoted := make([]string, len(addrs))
	for i, a := range addrs {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	var b strings.Builder
	b.WriteString("scrape_configs:")
	for _, job := range []string{"own", "prom"} {
		fmt.Fprintf(&b, `
- job_name: %s
  scrape_interval: 200ms
  scrape_timeout: 150ms
  extra_scrape_metrics: %v
  static_configs: [{targets: [%s]}]
  relabel_configs: [{target_label: zone, replacement: z1}]
`, job, job == "prom", strings.Join(quoted, ", "))
	}
	return b.String()
}

func runShardScraper(t *testing.T, yaml string, shard Shard) (*Scraper, *shardSink) {
	t.Helper()
	sink := &shardSink{}
	s, err := NewScraper(sink, ScrapeConfig{Configs: scrapeConfigs(t, yaml), Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return s, sink
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShardStaticSplitsTargets: three scrapers sharing one scrape_configs
// with static shares 0, 1 and 2 of 3 scrape every target of both jobs
// between them, each target by one
// of them only, and each counts what it scrapes and what it leaves.
func TestShardStaticSplitsTargets(t *testing.T) {
	var addrs []string
	for range 9 {
		addrs = append(addrs, newTarget(t, "text/plain", textBody).addr())
	}
	yaml := shardJobs(addrs)
	var scrapers []*Scraper
	var sinks []*shardSink
	for i := range 3 {
		s, sink := runShardScraper(t, yaml, scrapeshard.Static{Index: i, Count: 3})
		scrapers, sinks = append(scrapers, s), append(sinks, sink)
	}
	want := 2 * len(addrs)
	waitFor(t, "every target scraped", func() bool {
		n := 0
		for _, s := range sinks {
			m, _ := s.snapshot()
			n += len(m)
		}
		return n >= want
	})
	owner := map[string]int{}
	for i, s := range sinks {
		m, _ := s.snapshot()
		for tg := range m {
			if prev, ok := owner[tg]; ok {
				t.Errorf("target %s scraped by shares %d and %d", tg, prev, i)
			}
			owner[tg] = i
		}
	}
	if len(owner) != want {
		t.Fatalf("%d targets scraped, want %d", len(owner), want)
	}
	waitFor(t, "shard counts", func() bool {
		scraped := 0
		for _, s := range scrapers {
			c := s.ShardCounts()
			if c.Scraped+c.Elsewhere != want {
				return false
			}
			scraped += c.Scraped
		}
		return scraped == want
	})
	for i, s := range scrapers {
		c := s.ShardCounts()
		m, _ := sinks[i].snapshot()
		if c.Scraped != len(m) {
			t.Errorf("share %d counts %d targets scraped, scraped %d", i, c.Scraped, len(m))
		}
	}
}

// TestShardMembersRebalance: two scrapers share the targets by rendezvous
// over members {a, b}; when b leaves, a takes b's targets on Reshard and
// b stops scraping them without writing staleness markers for them (a
// scrapes their series on); when b comes back, the targets move back.
func TestShardMembersRebalance(t *testing.T) {
	ma, mb := scrapeshard.NewMembers("a"), scrapeshard.NewMembers("b")
	ab, a := []member.Member{{ID: "a"}, {ID: "b"}}, []member.Member{{ID: "a"}}
	ma.Set(ab)
	mb.Set(ab)
	// Targets on random ports: take a set that both members share (eight
	// targets all fall to one member in 2 of 256 sets).
	var addrs []string
	owned := 0
	for split := false; !split; {
		addrs, owned = addrs[:0], 0
		for range 8 {
			addr := newTarget(t, "text/plain", textBody).addr()
			addrs = append(addrs, addr)
			if mb.Owns(labels.FromStrings("instance", addr, "job", "own", "zone", "z1")) {
				owned++
			}
		}
		split = owned > 0 && owned < len(addrs)
	}
	yaml := shardJobs(addrs)[:strings.Index(shardJobs(addrs), "\n- job_name: prom")] // one job
	sa, sinkA := runShardScraper(t, yaml, ma)
	sb, sinkB := runShardScraper(t, yaml, mb)
	waitFor(t, "both shares scraped", func() bool {
		a, _ := sinkA.snapshot()
		b, _ := sinkB.snapshot()
		return len(a)+len(b) == len(addrs)
	})
	if c := sb.ShardCounts(); c.Scraped != owned {
		t.Fatalf("b scrapes %d of %d targets, want the %d its rendezvous share holds", c.Scraped, len(addrs), owned)
	}

	// b leaves: a takes everything, b nothing.
	ma.Set(a)
	mb.Set(a)
	sa.Reshard()
	sb.Reshard()
	before, _ := sinkA.snapshot()
	waitFor(t, "a scraping every target three more times", func() bool {
		now, _ := sinkA.snapshot()
		for _, addr := range addrs {
			if now["own/"+addr]-before["own/"+addr] < 3 {
				return false
			}
		}
		return true
	})
	if c := sa.ShardCounts(); c.Scraped != len(addrs) || c.Elsewhere != 0 {
		t.Errorf("a alone counts %+v, want all %d scraped", c, len(addrs))
	}
	if c := sb.ShardCounts(); c.Scraped != 0 {
		t.Errorf("b, no longer a member, counts %+v scraped", c)
	}
	if _, stale := sinkB.snapshot(); stale != 0 {
		t.Errorf("b wrote %d staleness markers for targets that moved to a", stale)
	}
	afterB, _ := sinkB.snapshot()
	waitFor(t, "a scraping every target once more", func() bool {
		now, _ := sinkA.snapshot()
		for _, addr := range addrs {
			if now["own/"+addr]-before["own/"+addr] < 4 {
				return false
			}
		}
		return true
	})
	nowB, _ := sinkB.snapshot()
	for tg, n := range nowB {
		if n != afterB[tg] {
			t.Errorf("b still scrapes %s after it left", tg)
		}
	}

	// b comes back: its share returns to it.
	ma.Set(ab)
	mb.Set(ab)
	sa.Reshard()
	sb.Reshard()
	waitFor(t, "b scraping its share again", func() bool {
		now, _ := sinkB.snapshot()
		for tg, n := range now {
			if n > afterB[tg] {
				return sb.ShardCounts().Scraped > 0 && sb.ShardCounts().Scraped+sa.ShardCounts().Scraped == len(addrs)
			}
		}
		return false
	})
}
