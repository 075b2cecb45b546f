package limits

import "github.com/prometheus/prometheus/model/labels"

// A Memo remembers which series of one target's scrapes the tenant's
// limits admitted, by their place in the scrape, so that a steady
// target's series are checked, hashed and looked up in the tenant's
// active series once per new series and then once per refresh period
// (a quarter of SeriesIdle), not once per sample: a series at the same
// place with the same label set (the cloud's rebuilt scrapes share one
// label set per series from scrape to scrape, so this compares one
// pointer) and a stamp of the current period passes at once.
//
// Between refreshes the tracker's last-seen time of a memoised series is
// at most a period old, so a series that keeps coming never expires; one
// that stops expires within SeriesIdle of its last refresh. A reload (Reloaded) changes every stamp, so each series is
// checked again against the new limits at its next sample.
//
// A Memo costs 24 bytes per series of its target's scrape. Use one per
// target whose scrapes come in order (a site's delta base); it is not
// safe for concurrent use.
type Memo struct {
	slots []memoSlot
}

type memoSlot struct {
	ls    labels.Labels
	stamp uint64 // tenant's generation << 32 | refresh period; 0: none
}

// admitted returns whether the series at place i with label set ls was
// admitted under stamp.
func (m *Memo) admitted(i int, ls labels.Labels, stamp uint64) bool {
	return m != nil && i < len(m.slots) && m.slots[i].stamp == stamp && labels.Equal(m.slots[i].ls, ls)
}

// admit records the series at place i, of a scrape of n series, as
// admitted under stamp.
func (m *Memo) admit(i, n int, ls labels.Labels, stamp uint64) {
	if m == nil {
		return
	}
	if len(m.slots) < n {
		m.slots = append(m.slots, make([]memoSlot, n-len(m.slots))...)
	}
	m.slots[i] = memoSlot{ls: ls, stamp: stamp}
}

// fit cuts m to a scrape of n series, releasing a much larger array.
func (m *Memo) fit(n int) {
	if m == nil || len(m.slots) <= n {
		return
	}
	clear(m.slots[n:])
	if cap(m.slots) > 2*n+64 {
		m.slots = append([]memoSlot(nil), m.slots[:n]...)
		return
	}
	m.slots = m.slots[:n]
}
