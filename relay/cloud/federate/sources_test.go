package federate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// TestSourcesServeAsLookups feeds two stores the same random scrapes of
// two sites' targets, one through Deliver (which finds series by their
// position in the target's last scrape) and one through Update (which
// looks every series up by its labels), and requires them to serve the
// same after every step: series that move, vanish, come back, go stale,
// expire, or are shared by two targets, and sites dropped.
func TestSourcesServeAsLookups(t *testing.T) {
	c := newClock()
	bySource, byLookup := testStore(c), testStore(c)
	rng := rand.New(rand.NewPCG(1, 2))
	// Label sets are made once and reused, as the cloud's rebuild does;
	// some are made again (equal strings, not the same ones).
	pool := make([]labels.Labels, 40)
	for i := range pool {
		pool[i] = labels.FromStrings("__name__", "m", "i", fmt.Sprint(i%30), "tenant", "acme")
	}
	matchAll := [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}}
	for step := range 3000 {
		site := fmt.Sprint("s", rng.IntN(2))
		b := &relay.Batch{Scrape: true, Job: "j", Instance: fmt.Sprint("i", rng.IntN(2)), Timestamp: int64(step)}
		n := rng.IntN(len(pool))
		perm := rng.Perm(len(pool))
		if rng.IntN(4) > 0 { // mostly the same order as before
			for i := range perm {
				perm[i] = i
			}
		}
		for _, p := range perm[:n] {
			v := float64(step)
			if rng.IntN(20) == 0 {
				v = staleNaN
			}
			ls := pool[p]
			if rng.IntN(50) == 0 {
				ls = labels.FromStrings("__name__", "m", "i", fmt.Sprint(p%30), "tenant", "acme")
			}
			b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: int64(step - rng.IntN(3)), V: v}}})
		}
		switch rng.IntN(100) {
		case 0:
			c.add(DefaultMaxAge + time.Second)
		case 1:
			bySource.DropSite("acme", site)
			byLookup.DropSite("acme", site)
		case 2:
			c.add(time.Minute)
			bySource.GC()
			byLookup.GC()
		}
		if err := bySource.Deliver(context.Background(), &output.Delivery{Tenant: "acme", Site: site, Batches: []*relay.Batch{b}}); err != nil {
			t.Fatal(err)
		}
		byLookup.Update("acme", b)
		got, want := servedSet(bySource.snapshot("", matchAll)), servedSet(byLookup.snapshot("", matchAll))
		if fmt.Sprint(got) != fmt.Sprint(want) || bySource.Series() != byLookup.Series() {
			t.Fatalf("step %d: served %v (%d series), want %v (%d series)", step, got, bySource.Series(), want, byLookup.Series())
		}
	}
}

// servedSet is what a snapshot serves, by label set.
func servedSet(b *relay.Batch) map[string]string {
	m := map[string]string{}
	for _, s := range b.Series {
		m[s.Labels.String()] = fmt.Sprint(s.Samples[0].T, math.Float64bits(s.Samples[0].V))
	}
	return m
}
