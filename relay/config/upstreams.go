package config

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Upstream modes (edge.upstream_mode).
const (
	// ModeReplicate sends every block to every upstream, each acknowledged
	// on its own.
	ModeReplicate = "replicate"
	// ModeFailover sends to the first upstream of the list that makes
	// progress, in order.
	ModeFailover = "failover"
)

// DefaultFailoverAfter is edge.failover_after when unset.
const DefaultFailoverAfter = 30 * time.Second

// UpstreamEntry is one of edge.upstreams: a cloud relay, with a name that
// labels its metrics and keeps its place in the queue.
type UpstreamEntry struct {
	// Name labels the upstream's metrics (upstream="<name>") and keys its
	// acknowledged position in the queue; default its address. Renaming
	// an upstream starts it from the oldest queued block.
	Name     string `yaml:"name"`
	Upstream `yaml:",inline"`
	// MaxBacklogBytes caps, in upstream_mode replicate, the queued bytes
	// this upstream has not acknowledged: past it its oldest blocks are
	// dropped for this upstream only (whole delta generations), counted
	// in edgerelay_upstream_dropped_blocks_total. 0, the default: only
	// queue.max_bytes bounds it.
	MaxBacklogBytes Bytes `yaml:"max_backlog_bytes"`
}

// Uplink configures when the edge ships.
type Uplink struct {
	// Schedule lists windows during which the uplink is paused (metered
	// links): blocks keep queueing and go once the window ends.
	Schedule []PauseWindow `yaml:"schedule"`
}

// PauseWindow is one entry of edge.uplink.schedule.
type PauseWindow struct {
	// Pause is "HH:MM-HH:MM" in UTC: paused from the first time
	// (inclusive) to the second (exclusive); "24:00" ends at midnight, and
	// an end at or before the start runs past midnight into the next day.
	Pause string `yaml:"pause"`
	// Days are the days a window starts on: mon, tue, wed, thu, fri, sat,
	// sun. Empty: every day.
	Days []string `yaml:"days"`
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParsePause parses a PauseWindow's Pause into minutes after midnight:
// start in [0, 1440), end in (0, 1440].
func ParsePause(s string) (start, end int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("want HH:MM-HH:MM; got %q", s)
	}
	if start, err = parseClock(a); err == nil {
		end, err = parseClock(b)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("want HH:MM-HH:MM; got %q: %w", s, err)
	}
	if start == 24*60 {
		return 0, 0, fmt.Errorf("a window cannot start at 24:00; got %q", s)
	}
	if end == 0 {
		end = 24 * 60
	}
	if start == end {
		return 0, 0, fmt.Errorf("an empty window; got %q", s)
	}
	return start, end, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return h*60 + m, nil
}

// ParseDays returns the weekdays named by days; empty means every day.
func ParseDays(days []string) (map[time.Weekday]bool, error) {
	out := map[time.Weekday]bool{}
	for _, d := range days {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return nil, fmt.Errorf("%q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
		out[wd] = true
	}
	if len(days) == 0 {
		for _, wd := range dayNames {
			out[wd] = true
		}
	}
	return out, nil
}

// UpstreamList is the edge's upstreams: edge.upstreams, or edge.upstream
// as a list of one (named "default").
func (e *Edge) UpstreamList() []UpstreamEntry {
	if len(e.Upstreams) > 0 {
		return e.Upstreams
	}
	return []UpstreamEntry{{Name: "default", Upstream: e.Upstream}}
}

// applyUpstreamDefaults fills each upstream's unset fields. It runs before
// edge.upstream gets its own defaults, to tell whether it was written.
func (e *Edge) applyUpstreamDefaults() {
	e.upstreamWritten = e.Upstream != (Upstream{})
	e.replayShareWritten = e.Queue.ReplayShare != 0
	if len(e.Upstreams) == 0 {
		return
	}
	setDefault(&e.UpstreamMode, ModeReplicate)
	setDefault(&e.FailoverAfter, DefaultFailoverAfter)
	d := DefaultEdge.Upstream
	for i := range e.Upstreams {
		u := &e.Upstreams[i]
		setDefault(&u.Name, u.Address)
		setDefault(&u.Window, d.Window)
		setDefault(&u.MinBackoff, d.MinBackoff)
		setDefault(&u.MaxBackoff, d.MaxBackoff)
		if u.ServerName == "" {
			if host, _, err := net.SplitHostPort(u.Address); err == nil {
				u.ServerName = host
			}
		}
	}
}

// validateUpstreams returns the problems of edge.upstream, edge.upstreams,
// edge.upstream_mode, edge.failover_after and edge.uplink.
func (e *Edge) validateUpstreams() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	errs = append(errs, e.validateSchedule()...)
	if len(e.Upstreams) == 0 {
		if e.UpstreamMode != "" {
			bad("edge.upstream_mode applies to edge.upstreams only; got %q with edge.upstream", e.UpstreamMode)
		}
		if e.FailoverAfter != 0 {
			bad("edge.failover_after applies to edge.upstreams in upstream_mode failover only")
		}
		return append(errs, validateUpstream("edge.upstream", e.Upstream)...)
	}
	if e.upstreamWritten {
		bad("edge.upstream and edge.upstreams are both set: use edge.upstreams only (a list of one is the one-upstream form)")
	}
	switch e.UpstreamMode {
	case ModeReplicate:
		if e.FailoverAfter != DefaultFailoverAfter && e.FailoverAfter != 0 {
			bad("edge.failover_after applies to upstream_mode failover only; got %s with replicate", e.FailoverAfter)
		}
	case ModeFailover:
		if e.FailoverAfter < time.Second {
			bad("edge.failover_after must be at least 1s; got %s", e.FailoverAfter)
		}
	default:
		bad("edge.upstream_mode must be replicate or failover; got %q", e.UpstreamMode)
	}
	if e.replayShareWritten && e.Queue.ReplayShare != 1 {
		// Lanes split the one queue for one receiver; with edge.upstreams
		// each upstream drains its backlog oldest first.
		bad("edge.queue.replay_share applies to edge.upstream only; with edge.upstreams each upstream drains oldest first (remove it, or set 1); got %v", e.Queue.ReplayShare)
	}
	names := map[string]bool{}
	for i, u := range e.Upstreams {
		f := fmt.Sprintf("edge.upstreams[%d]", i)
		if names[u.Name] {
			bad("%s.name %q is used twice", f, u.Name)
		}
		names[u.Name] = true
		if u.Name != "" && !ValidName(u.Name) && !validAddressName(u.Name) {
			bad("%s.name must be letters, digits, '-', '_', '.' or ':'; got %q", f, u.Name)
		}
		if u.MaxBacklogBytes < 0 {
			bad("%s.max_backlog_bytes must be >= 0; got %d", f, u.MaxBacklogBytes)
		}
		if u.MaxBacklogBytes != 0 && e.UpstreamMode != ModeReplicate {
			bad("%s.max_backlog_bytes applies to upstream_mode replicate only (in failover one upstream at a time drains the queue)", f)
		}
		if u.MaxBacklogBytes != 0 && u.MaxBacklogBytes < e.Queue.MaxBlockBytes {
			bad("%s.max_backlog_bytes (%d) must be at least edge.queue.max_block_bytes (%d)", f, u.MaxBacklogBytes, e.Queue.MaxBlockBytes)
		}
		errs = append(errs, validateUpstream(f, u.Upstream)...)
	}
	return errs
}

func validAddressName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "/\\ \t\n\"'") && !strings.Contains(s, "..")
}

// validateUpstream returns the problems of one upstream written under field.
func validateUpstream(field string, u Upstream) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u.Address == "" {
		bad("%s.address is required", field)
	} else if _, _, err := net.SplitHostPort(u.Address); err != nil {
		bad("%s.address must be host:port; got %q", field, u.Address)
	}
	if (u.CertFile == "") != (u.KeyFile == "") {
		bad("%s.cert_file and %s.key_file go together", field, field)
	}
	if u.MaxBackoff < u.MinBackoff {
		bad("%s.max_backoff (%s) must not be below %s.min_backoff (%s)", field, u.MaxBackoff, field, u.MinBackoff)
	}
	if u.Window < 1 {
		bad("%s.window must be >= 1; got %d", field, u.Window)
	}
	return errs
}

// validateSchedule returns the problems of edge.uplink.schedule.
func (e *Edge) validateSchedule() []error {
	var errs []error
	for i, w := range e.Uplink.Schedule {
		if _, _, err := ParsePause(w.Pause); err != nil {
			errs = append(errs, fmt.Errorf("edge.uplink.schedule[%d].pause: %w", i, err))
		}
		if _, err := ParseDays(w.Days); err != nil {
			errs = append(errs, fmt.Errorf("edge.uplink.schedule[%d].days: %w", i, err))
		}
	}
	return errs
}
