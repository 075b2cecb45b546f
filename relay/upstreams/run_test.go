package upstreams

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeForwarder takes every block of its view while up, and nothing while
// down; running says whether its Run is in progress.
type fakeForwarder struct {
	v       *View
	up      atomic.Bool
	running atomic.Int32
}

func (f *fakeForwarder) Run(ctx context.Context) error {
	f.running.Add(1)
	defer f.running.Add(-1)
	for {
		if f.up.Load() {
			bs, err := f.v.Read(0, 0, 0)
			if err != nil {
				return err
			}
			if len(bs) > 0 {
				if err := f.v.AckThrough(bs[len(bs)-1].Seq); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func waitUntil(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunFailsOverAndPauses(t *testing.T) {
	q := openQueue(t, t.TempDir())
	defer q.Close()
	m := NewMetrics(nil)
	s, err := New(q, []Upstream{{Name: "a"}, {Name: "b"}}, true, nil, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &fakeForwarder{v: s.Views()[0]}, &fakeForwarder{v: s.Views()[1]}
	b.up.Store(true) // a, the primary, is down
	gate, err := NewGate(nil)
	if err != nil {
		t.Fatal(err)
	}
	var switches atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{Set: s, Forwarders: []Forwarder{a, b}, Names: []string{"a", "b"},
			FailoverAfter: 300 * time.Millisecond, Gate: gate, Metrics: m, Tick: 20 * time.Millisecond,
			OnSwitch: func() { switches.Add(1) }})
	}()
	last := appendGroup(t, q, 1, 5, 100)[4]
	waitUntil(t, "b to take over and take every block", func() bool { return s.Views()[1].Acked() == last })
	if n := switches.Load(); n != 1 {
		t.Errorf("%d switches, want 1", n)
	}
	if a.running.Load() != 0 || gauge(t, m.active.WithLabelValues("a")) != 0 || gauge(t, m.active.WithLabelValues("b")) != 1 {
		t.Errorf("after failing over: a running %d, active a %v, b %v", a.running.Load(),
			gauge(t, m.active.WithLabelValues("a")), gauge(t, m.active.WithLabelValues("b")))
	}

	// Paused: nothing runs, blocks stay queued; resumed: they go.
	gate.Pause()
	waitUntil(t, "the forwarders to stop", func() bool { return b.running.Load() == 0 && gauge(t, m.paused) == 1 })
	last = appendGroup(t, q, 2, 3, 100)[2]
	if got := s.Views()[1].Acked(); got == last {
		t.Fatal("a block was acknowledged while paused")
	}
	gate.Resume(time.Now())
	waitUntil(t, "b to take the blocks queued while paused", func() bool { return s.Views()[1].Acked() == last })
	if gauge(t, m.paused) != 0 {
		t.Error("edgerelay_uplink_paused still 1 after Resume")
	}
	if n := switches.Load(); n != 1 {
		t.Errorf("%d switches after the pause, want still 1: b made progress", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
