package host

import "github.com/prometheus/prometheus/model/labels"

// memo remembers what the series-level part of the chain did to a label set:
// dropped (by which stage) or the labels it came out with. It holds at most
// max entries and evicts with the CLOCK algorithm, so a hit costs one map
// lookup and one label comparison and allocates nothing.
type memo struct {
	idx     map[uint64]int32
	ents    []memoEntry
	hand    int
	max     int
	nextRef uint32
}

type memoEntry struct {
	hash uint64
	in   labels.Labels
	out  labels.Labels
	// stage is the index of the stage that dropped the series, or -1.
	stage int32
	ref   uint32
	used  bool
}

func newMemo(max int) *memo {
	return &memo{idx: make(map[uint64]int32, min(max, 1<<16)), max: max}
}

// get returns the entry for ls (hash h) or nil.
func (m *memo) get(h uint64, ls labels.Labels) *memoEntry {
	i, ok := m.idx[h]
	if !ok {
		return nil
	}
	e := &m.ents[i]
	if !labels.Equal(e.in, ls) {
		return nil // hash collision: recomputed and overwritten
	}
	e.used = true
	return e
}

// put stores a result and reports whether an entry was evicted for it. A
// label set stored again (the same set resolved twice in one call, as a
// target's up series and its identity are) keeps its ref.
func (m *memo) put(h uint64, in, out labels.Labels, stage int32) (e *memoEntry, evicted bool) {
	if i, ok := m.idx[h]; ok {
		e = &m.ents[i]
		if labels.Equal(e.in, in) {
			e.out, e.stage, e.used = out, stage, true
			return e, false
		}
	} else if len(m.ents) < m.max {
		m.ents = append(m.ents, memoEntry{})
		m.idx[h] = int32(len(m.ents) - 1)
		e = &m.ents[len(m.ents)-1]
	} else {
		for {
			c := &m.ents[m.hand]
			slot := m.hand
			m.hand = (m.hand + 1) % len(m.ents)
			if c.used {
				c.used = false
				continue
			}
			delete(m.idx, c.hash)
			m.idx[h] = int32(slot)
			e, evicted = c, true
			break
		}
	}
	m.nextRef++
	*e = memoEntry{hash: h, in: in, out: out, stage: stage, ref: m.nextRef}
	return e, evicted
}

func (m *memo) len() int { return len(m.ents) }
