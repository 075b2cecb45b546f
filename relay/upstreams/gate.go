package upstreams

import (
	"fmt"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/relay/config"
)

// Gate says whether the uplink may ship now: not while paused by hand
// (POST /-/uplink/pause) or by a window of the schedule
// (edge.uplink.schedule). Resuming by hand during a window resumes until
// that window ends; the next window pauses again.
type Gate struct {
	windows []window

	mu      sync.Mutex
	manual  bool      // paused by hand
	until   time.Time // a window resumed by hand ends then
	changed chan struct{}
}

// window is one parsed PauseWindow: minutes after midnight UTC, on days.
type window struct {
	start, length int // minutes
	days          map[time.Weekday]bool
}

// NewGate parses the schedule (validated by config).
func NewGate(schedule []config.PauseWindow) (*Gate, error) {
	g := &Gate{changed: make(chan struct{})}
	for i, w := range schedule {
		start, end, err := config.ParsePause(w.Pause)
		if err != nil {
			return nil, fmt.Errorf("edge.uplink.schedule[%d].pause: %w", i, err)
		}
		days, err := config.ParseDays(w.Days)
		if err != nil {
			return nil, fmt.Errorf("edge.uplink.schedule[%d].days: %w", i, err)
		}
		length := end - start
		if length <= 0 {
			length += 24 * 60
		}
		g.windows = append(g.windows, window{start: start, length: length, days: days})
	}
	return g, nil
}

// scheduled returns the end of the window pausing the uplink at t, or the
// zero time when none does.
func (g *Gate) scheduled(t time.Time) time.Time {
	t = t.UTC()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	var end time.Time
	for _, w := range g.windows {
		for back := 0; back <= 1; back++ { // a window started today or yesterday
			day := midnight.AddDate(0, 0, -back)
			if !w.days[day.Weekday()] {
				continue
			}
			from := day.Add(time.Duration(w.start) * time.Minute)
			to := from.Add(time.Duration(w.length) * time.Minute)
			if !t.Before(from) && t.Before(to) && to.After(end) {
				end = to
			}
		}
	}
	return end
}

// Paused reports whether the uplink is paused at t, and why: "manual",
// "schedule", or "".
func (g *Gate) Paused(t time.Time) (bool, string) {
	if g == nil {
		return false, ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.manual {
		return true, "manual"
	}
	if end := g.scheduled(t); !end.IsZero() && !(g.until.Equal(end) || g.until.After(end)) {
		return true, "schedule"
	}
	return false, ""
}

// Pause pauses the uplink until Resume.
func (g *Gate) Pause() {
	g.mu.Lock()
	g.manual = true
	g.notifyLocked()
	g.mu.Unlock()
}

// Resume ends a pause by hand, and a scheduled window in progress at t
// until it ends.
func (g *Gate) Resume(t time.Time) {
	g.mu.Lock()
	g.manual = false
	if end := g.scheduled(t); !end.IsZero() {
		g.until = end
	}
	g.notifyLocked()
	g.mu.Unlock()
}

// Changed is closed at the next Pause or Resume.
func (g *Gate) Changed() <-chan struct{} {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

func (g *Gate) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}
