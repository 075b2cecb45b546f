// Package memlimit keeps the Go memory limit the binary sets by default
// (--memory-limit) from turning into a garbage collector that never stops.
//
// A soft memory limit below what the process must keep live makes the Go
// collector run back to back, capped only by its limiter at half of the
// CPU: an edge scraping more series than the default limit holds spends
// three to ten times its usual CPU per sample. A Guard watches the share of
// the process's CPU time the collector takes (over the last three checks)
// and the live heap; when the
// limit is what makes the collector take a large share of it, it raises the
// limit to twice the live heap (the heap GOGC=100 would grow to). While the
// collector then stays cheap it gives a quarter of the room over the live
// heap back at each check, never under the configured floor: a raise
// caused by one costly moment (an edge's first scrapes, which build its
// caches) does not keep the process at twice its live heap for good. A
// limit an operator sets explicitly is left alone: nothing here runs for
// it.
//
// Guard.Run runs in one goroutine; the rest of the process only sees the
// limit change (debug.SetMemoryLimit, go_gc_gomemlimit_bytes on /metrics).
package memlimit

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Guard raises and lowers the process's memory limit, never under Floor.
type Guard struct {
	// Floor is the configured limit; the limit never goes under it.
	Floor int64
	// MaxGCShare is the share of the process's CPU time (the program's
	// and the collector's) the collector may take, in mark assists,
	// dedicated mark workers and pauses, before the limit yields; 0 means
	// 0.25: the collector takes more than a third of what the program
	// itself takes.
	MaxGCShare float64
	// Interval between checks; 0 means 10s.
	Interval time.Duration
	// Log receives a line whenever the limit changes; nil discards.
	Log *slog.Logger
}

// Metrics read from the runtime: the collector's CPU that costs the
// program (idle-time marking does not), the program's own, all available
// CPU (GOMAXPROCS over wall time), the live heap.
var names = []string{
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/cpu/classes/user:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/heap/live:bytes",
}

// minBusy is the share of the available CPU the process must use over an
// interval for the collector's share of it to count: an idle process's
// few collections say nothing.
const minBusy = 0.01

// Run checks every Interval until ctx is done, and returns nil.
func (g *Guard) Run(ctx context.Context) error {
	interval := g.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	log := g.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	read := func() (gc, user, total float64, live int64) {
		metrics.Read(samples)
		for _, s := range samples[:3] {
			gc += s.Value.Float64()
		}
		return gc, samples[3].Value.Float64(), samples[4].Value.Float64(), int64(samples[5].Value.Uint64())
	}
	gc0, user0, total0, _ := read()
	var w shareWindow
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		gc1, user1, total1, live := read()
		share := w.add(gc1-gc0, (gc1-gc0)+(user1-user0), total1-total0, live)
		gc0, user0, total0 = gc1, user1, total1
		limit := debug.SetMemoryLimit(-1)
		if next := g.next(limit, live, w.minLive(), share); next != limit {
			debug.SetMemoryLimit(next)
			log.Info("memory limit changed: the collector's work follows the live heap, never under --memory-limit",
				"limit_bytes", next, "was_bytes", limit, "live_heap_bytes", live, "gc_cpu_share", share)
		}
	}
}

// window is how many checks the collector's share is taken over. An edge
// whose program takes little CPU sees one collection of a large live heap
// as a third of its CPU in the interval that holds it and as nothing in
// the next ones; over three intervals the share is what it costs.
const window = 3

// shareWindow is the collector's share of the process's CPU time, and
// the live heap, over the last window checks.
type shareWindow struct {
	gc, used, total [window]float64
	live            [window]int64
	n               int
}

// add records one interval's collector, process and available CPU time
// and live heap, and returns the collector's share over the window: 0
// when the process used less than minBusy of the available CPU.
func (w *shareWindow) add(gc, used, total float64, live int64) float64 {
	i := w.n % window
	w.gc[i], w.used[i], w.total[i], w.live[i] = gc, used, total, live
	w.n++
	var g, u, t float64
	for i := range window {
		g, u, t = g+w.gc[i], u+w.used[i], t+w.total[i]
	}
	if u <= minBusy*t {
		return 0
	}
	return g / u
}

// minLive is the smallest live heap of the window: what the process
// keeps, where the latest may have been marked in the middle of a burst
// (an edge's full frame of a large target is a fifth of its live heap
// for a moment).
func (w *shareWindow) minLive() int64 {
	m := w.live[0]
	for i := 1; i < min(w.n, window); i++ {
		m = min(m, w.live[i])
	}
	return m
}

// next returns the limit to set, given the current one, the live heap (as
// the last collection found it, and the smallest of the window) and the
// collector's share of the process's CPU time over the window.
func (g *Guard) next(limit, live, minLive int64, share float64) int64 {
	maxShare := g.MaxGCShare
	if maxShare <= 0 {
		maxShare = 0.25
	}
	switch {
	case share > maxShare && 2*live > limit:
		// The limit, not GOGC, sets the heap goal, and collecting under
		// it costs too much: give the heap what GOGC=100 would, for what
		// the process keeps rather than for a burst, and always more
		// than the live heap now.
		return max(g.Floor, 2*minLive, live+live/4)
	case limit > g.Floor && 4*live < limit:
		// The live heap shrank well under the raised limit: follow it
		// down, with room so as not to come straight back.
		return max(g.Floor, 2*live)
	case limit > g.Floor && share < maxShare/4:
		// Raised, and the collector is cheap under it: give a quarter
		// of the room over the live heap back, keeping at least a
		// quarter of the live heap as room. Lowering stops where the
		// collector's share reaches a quarter of maxShare, so it does
		// not come straight back up.
		return max(g.Floor, limit-(limit-live)/4, live+live/4)
	}
	return limit
}
