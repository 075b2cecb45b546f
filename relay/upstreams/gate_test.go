package upstreams

import (
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay/config"
)

func TestGateSchedule(t *testing.T) {
	g, err := NewGate([]config.PauseWindow{
		{Pause: "08:00-18:00", Days: []string{"mon", "tue", "wed", "thu", "fri"}},
		{Pause: "22:00-06:00", Days: []string{"sat"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse("Mon 2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		at   string
		want bool
	}{
		{"weekday morning before", "Mon 2026-11-30 07:59", false},
		{"weekday start", "Mon 2026-11-30 08:00", true},
		{"weekday last minute", "Fri 2026-12-04 17:59", true},
		{"weekday end is open", "Fri 2026-12-04 18:00", false},
		{"saturday day", "Sat 2026-12-05 12:00", false},
		{"saturday night", "Sat 2026-12-05 23:30", true},
		{"past midnight into sunday", "Sun 2026-12-06 05:59", true},
		{"sunday morning", "Sun 2026-12-06 06:00", false},
		{"friday night is not saturday's", "Sat 2026-12-05 01:00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := g.Paused(at(tc.at)); got != tc.want {
				t.Errorf("paused at %s: %v, want %v", tc.at, got, tc.want)
			}
		})
	}

	// By hand: pause wins; resume during a window lasts until it ends.
	in := at("Tue 2026-12-01 09:00")
	g.Resume(in)
	if p, _ := g.Paused(in.Add(time.Hour)); p {
		t.Error("paused in a window resumed by hand")
	}
	if p, why := g.Paused(at("Wed 2026-12-02 09:00")); !p || why != "schedule" {
		t.Errorf("the next window: paused %v (%s), want paused by the schedule", p, why)
	}
	g.Pause()
	if p, why := g.Paused(at("Sun 2026-12-06 12:00")); !p || why != "manual" {
		t.Errorf("after Pause: paused %v (%s), want paused by hand", p, why)
	}
	g.Resume(at("Sun 2026-12-06 12:00"))
	if p, _ := g.Paused(at("Sun 2026-12-06 12:00")); p {
		t.Error("still paused after Resume outside any window")
	}
}

func TestParsePause(t *testing.T) {
	for _, tc := range []struct {
		in         string
		start, end int
		bad        bool
	}{
		{in: "08:00-18:00", start: 480, end: 1080},
		{in: "22:30-24:00", start: 1350, end: 1440},
		{in: "22:00-00:00", start: 1320, end: 1440},
		{in: "23:00-01:00", start: 1380, end: 60},
		{in: "24:00-01:00", bad: true},
		{in: "08:00-08:00", bad: true},
		{in: "8:00-18:00", bad: true},
		{in: "08:60-18:00", bad: true},
		{in: "08:00", bad: true},
	} {
		s, e, err := config.ParsePause(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (s != tc.start || e != tc.end)) {
			t.Errorf("ParsePause(%q) = %d, %d, %v; want %d, %d, bad %v", tc.in, s, e, err, tc.start, tc.end, tc.bad)
		}
	}
}
