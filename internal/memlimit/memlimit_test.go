package memlimit

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

const mib = 1 << 20

func TestNext(t *testing.T) {
	g := &Guard{Floor: 128 * mib}
	for _, tc := range []struct {
		name        string
		limit, live int64
		share       float64
		want        int64
	}{
		{"small heap, GOGC rules", 128 * mib, 30 * mib, 0.01, 128 * mib},
		{"limit binds, collector cheap: kept", 128 * mib, 90 * mib, 0.15, 128 * mib},
		{"limit binds, collector busy: raised to twice the live heap", 128 * mib, 120 * mib, 0.6, 240 * mib},
		{"live heap past the limit", 128 * mib, 150 * mib, 0.8, 300 * mib},
		{"busy but the limit does not bind: GOGC's doing", 128 * mib, 50 * mib, 0.7, 128 * mib},
		{"raised limit binds again and costs: raised further", 240 * mib, 180 * mib, 0.6, 360 * mib},
		{"raised, live heap steady, collector busy enough: kept", 240 * mib, 110 * mib, 0.1, 240 * mib},
		{"raised, collector cheap: a quarter of the room given back", 240 * mib, 110 * mib, 0.02, 207.5 * mib},
		{"raised, collector cheap: room kept at a quarter of the live heap", 180 * mib, 140 * mib, 0.02, 175 * mib},
		{"raised, collector cheap: never under the floor", 140 * mib, 90 * mib, 0.0, 128 * mib},
		{"at the floor, collector cheap: kept", 128 * mib, 90 * mib, 0.0, 128 * mib},
		{"raised, live heap shrank: lowered", 400 * mib, 80 * mib, 0.01, 160 * mib},
		{"lowered never under the floor", 400 * mib, 20 * mib, 0.01, 128 * mib},
	} {
		if got := g.next(tc.limit, tc.live, tc.live, tc.share); got != tc.want {
			t.Errorf("%s: next(%d MiB, live %d MiB, share %.2f) = %d MiB, want %d MiB",
				tc.name, tc.limit/mib, tc.live/mib, tc.share, got/mib, tc.want/mib)
		}
	}
}

// TestRaiseForWhatIsKept: a raise gives twice the smallest live heap of
// the window, not twice one marked in the middle of a burst, and always
// room over the live heap now.
func TestRaiseForWhatIsKept(t *testing.T) {
	g := &Guard{Floor: 128 * mib}
	for _, tc := range []struct {
		live, minLive, want int64
	}{
		{120 * mib, 80 * mib, 160 * mib},
		{150 * mib, 80 * mib, 187.5 * mib},
		{100 * mib, 50 * mib, 128 * mib},
	} {
		if got := g.next(128*mib, tc.live, tc.minLive, 0.4); got != tc.want {
			t.Errorf("live %d MiB, smallest %d MiB: raised to %d MiB, want %d MiB", tc.live/mib, tc.minLive/mib, got/mib, tc.want/mib)
		}
	}
	var w shareWindow
	for _, live := range []int64{80, 90, 120, 100} {
		w.add(0, 1, 1, live*mib)
	}
	if got := w.minLive(); got != 90*mib {
		t.Errorf("smallest live heap of the window %d MiB, want 90 MiB (80 has left it)", got/mib)
	}
}

// TestShareWindow: the share is taken over the last three intervals, so
// one collection in one of them does not read as a collector that never
// stops, and a collector that keeps running reads as one from the first.
func TestShareWindow(t *testing.T) {
	var w shareWindow
	for i, tc := range []struct {
		gc, used, total, want float64
	}{
		{0.5, 1, 20, 0.5},        // busy from the start
		{0, 0.1, 20, 0.5 / 1.1},  // sums, not averages of shares
		{0, 0.1, 20, 0.5 / 1.2},  //
		{0, 0.1, 20, 0},          // the first interval left the window: idle, under minBusy
		{0.1, 0.3, 2, 0.1 / 0.5}, // one collection among three intervals
	} {
		if got := w.add(tc.gc, tc.used, tc.total, 0); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("interval %d: share %.4f, want %.4f", i, got, tc.want)
		}
	}
}

// TestRunStops: Run reads the runtime's metrics (a name it asks for that
// the runtime lacks would panic here), leaves a limit it has no reason to
// touch alone, and returns once its context is done.
func TestRunStops(t *testing.T) {
	old := debug.SetMemoryLimit(1 << 40)
	defer debug.SetMemoryLimit(old)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Guard{Floor: 1 << 40, Interval: time.Millisecond}).Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("limit %d, want %d", got, int64(1<<40))
	}
}
