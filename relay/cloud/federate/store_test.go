package federate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// clock is a settable fake clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func testStore(c *clock) *Store {
	return New(Config{Now: c.now, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
}
func lbls(tenant, name string) labels.Labels {
	return labels.FromStrings("__name__", name, "job", "node", "tenant", tenant)
}

func batch(lset labels.Labels, samples ...relay.Sample) *relay.Batch {
	return &relay.Batch{Series: []relay.Series{{Labels: lset, Samples: samples}}}
}

var staleNaN = math.Float64frombits(value.StaleNaN)

// served returns the sample held for lset as /federate would serve it.
func served(s *Store, tenant string, lset labels.Labels) (relay.Sample, bool) {
	b := s.snapshot(tenant, [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}})
	for _, sr := range b.Series {
		if labels.Equal(sr.Labels, lset) {
			return sr.Samples[0], true
		}
	}
	return relay.Sample{}, false
}

func TestUpdate(t *testing.T) {
	type step struct {
		samples []relay.Sample
		advance time.Duration // clock moves before the step
	}
	for _, tc := range []struct {
		name   string
		steps  []step
		want   relay.Sample
		served bool
	}{
		{"first sample", []step{{samples: []relay.Sample{{T: 10, V: 1}}}}, relay.Sample{T: 10, V: 1}, true},
		{"last of a batch", []step{{samples: []relay.Sample{{T: 10, V: 1}, {T: 20, V: 2}}}}, relay.Sample{T: 20, V: 2}, true},
		{"newer replaces", []step{{samples: []relay.Sample{{T: 10, V: 1}}}, {samples: []relay.Sample{{T: 20, V: 2}}}}, relay.Sample{T: 20, V: 2}, true},
		{"older ignored", []step{{samples: []relay.Sample{{T: 20, V: 2}}}, {samples: []relay.Sample{{T: 10, V: 1}}}}, relay.Sample{T: 20, V: 2}, true},
		{"stale marker removes", []step{{samples: []relay.Sample{{T: 10, V: 1}}}, {samples: []relay.Sample{{T: 20, V: staleNaN}}}}, relay.Sample{}, false},
		{"older stale marker ignored", []step{{samples: []relay.Sample{{T: 20, V: 1}}}, {samples: []relay.Sample{{T: 10, V: staleNaN}}}}, relay.Sample{T: 20, V: 1}, true},
		{"stale then fresh", []step{{samples: []relay.Sample{{T: 10, V: 1}, {T: 20, V: staleNaN}}}, {samples: []relay.Sample{{T: 30, V: 3}}}}, relay.Sample{T: 30, V: 3}, true},
		{"stale marker alone", []step{{samples: []relay.Sample{{T: 10, V: staleNaN}}}}, relay.Sample{}, false},
		{"plain NaN is served", []step{{samples: []relay.Sample{{T: 10, V: math.NaN()}}}}, relay.Sample{T: 10, V: math.NaN()}, true},
		{"expires after max age", []step{{samples: []relay.Sample{{T: 10, V: 1}}}, {advance: DefaultMaxAge + time.Second}}, relay.Sample{}, false},
		{"refresh by an older sample keeps it", []step{
			{samples: []relay.Sample{{T: 20, V: 2}}},
			{advance: DefaultMaxAge - time.Second, samples: []relay.Sample{{T: 10, V: 1}}},
			{advance: 2 * time.Second},
		}, relay.Sample{T: 20, V: 2}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			s := testStore(c)
			l := lbls("acme", "up")
			for _, st := range tc.steps {
				c.add(st.advance)
				if st.samples != nil {
					s.Update("acme", batch(l, st.samples...))
				}
			}
			got, ok := served(s, "acme", l)
			if ok != tc.served || ok && (got.T != tc.want.T || math.Float64bits(got.V) != math.Float64bits(tc.want.V) && !(math.IsNaN(got.V) && math.IsNaN(tc.want.V))) {
				t.Fatalf("served %v %v, want %v %v", got, ok, tc.want, tc.served)
			}
		})
	}
}

func TestGCBoundsMemory(t *testing.T) {
	c := newClock()
	s := testStore(c)
	for i := range 100 {
		s.Update(fmt.Sprint("t", i%3), batch(lbls(fmt.Sprint("t", i%3), fmt.Sprint("m", i)), relay.Sample{T: 1, V: 1}))
	}
	if s.Series() != 100 {
		t.Fatalf("Series() = %d, want 100", s.Series())
	}
	c.add(time.Minute)
	s.Update("t0", batch(lbls("t0", "m0"), relay.Sample{T: 2, V: 2}))
	c.add(DefaultMaxAge - time.Second)
	if n := s.GC(); n != 99 {
		t.Fatalf("GC dropped %d, want 99", n)
	}
	if s.Series() != 1 {
		t.Fatalf("Series() = %d after GC, want 1", s.Series())
	}
	s.mu.RLock()
	tenants := len(s.tenants)
	s.mu.RUnlock()
	if tenants != 1 {
		t.Fatalf("%d tenants held after GC, want 1", tenants)
	}
	c.add(time.Minute)
	s.GC()
	s.Update("t1", batch(lbls("t1", "again"), relay.Sample{T: 3, V: 3})) // a dropped tenant comes back
	if _, ok := served(s, "t1", lbls("t1", "again")); !ok || s.Series() != 1 {
		t.Fatalf("re-created tenant not served (series %d)", s.Series())
	}
}

// TestConcurrentUpdateAndServe is for -race: many writers, readers and GC.
func TestConcurrentUpdateAndServe(t *testing.T) {
	s := New(Config{MaxAge: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			tenant := fmt.Sprint("t", w%2)
			for i := range 2000 {
				v := float64(i)
				if i%7 == 0 {
					v = staleNaN
				}
				s.Update(tenant, batch(lbls(tenant, fmt.Sprint("m", i%50)), relay.Sample{T: int64(i), V: v}))
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			served(s, "", lbls("t0", "m1"))
			s.GC()
		}
	})
	time.Sleep(10 * time.Millisecond)
	cancel()
	wg.Wait()
	held := 0
	for _, tn := range s.tenants {
		for _, e := range tn.series {
			for ; e != nil; e = e.next {
				held++
			}
		}
	}
	if n := s.Series(); n != held || n > 100 {
		t.Fatalf("Series() = %d, %d held, want equal and at most 100", n, held)
	}
}
