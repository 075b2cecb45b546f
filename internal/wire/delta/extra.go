package delta

import (
	"encoding/binary"
	"slices"
)

// Both sides of the extra section: native histograms and exemplars kept
// as slot state (docs/protocol.md, "Extra section").

func (t *encTarget) extraMap() map[uint32]*encExtra {
	if t.extras == nil {
		t.extras = make(map[uint32]*encExtra)
	}
	return t.extras
}

// stageExtra writes the extra entry of a slot seen in this scrape whose
// histogram or exemplars differ from what was last sent, and makes the
// staged values the slot's state. It reports whether it wrote an entry.
func (e *Encoder) stageExtra(t *encTarget, sl *encSlot, id uint32, gap int, frameTS int64) bool {
	x := t.extras[id]
	hChanged := !x.curH.Equal(x.h)
	exChanged := !slices.Equal(x.curEx, x.ex)
	if hChanged || exChanged {
		e.xbuf = appendExtra(e.xbuf, uint64(gap), x.h, x.curH, exChanged, x.curEx, frameTS)
		e.nx++
	}
	if hChanged {
		switch {
		case x.curH == nil:
			x.h = nil
		case x.h == nil:
			x.h = x.curH.Clone()
		default:
			x.h.copyFrom(x.curH)
		}
	}
	if exChanged {
		x.ex = cloneExemplars(x.curEx)
	}
	x.curH, x.curEx = nil, nil
	if x.h == nil && x.ex == nil {
		delete(t.extras, id)
		sl.extra = false
	}
	return hChanged || exChanged
}

// appendExtras appends the extra section staged in e.xbuf, if any, and
// marks the frame starting at dst[start] as version 2 with kindExtra. A
// frame without one stays version 1, byte for byte.
func (e *Encoder) appendExtras(dst []byte, start int) []byte {
	if e.nx == 0 {
		return dst
	}
	if dst[start] != Version3 {
		dst[start] = Version
	}
	dst[start+1] |= kindExtra
	dst = binary.AppendUvarint(dst, uint64(e.nx))
	return append(dst, e.xbuf...)
}

// extraOf returns the extra of series i, if any, walking s.Extras from xi
// (ascending by Series); it returns the position to continue from.
func (s *Scrape) extraOf(i, xi int) (*Extra, int) {
	for xi < len(s.Extras) && s.Extras[xi].Series < i {
		xi++
	}
	if xi < len(s.Extras) && s.Extras[xi].Series == i {
		return &s.Extras[xi], xi + 1
	}
	return nil, xi
}

// histogram returns the histogram slot id holds, or nil.
func (st *decTarget) histogram(id uint32) *Histogram {
	if int(id) < len(st.slots) && st.slots[id].extra {
		return st.extras[id].h
	}
	return nil
}

// checkExtras fails r unless every extra entry of an incremental frame is
// for a slot present after the frame: present before and not absent now,
// or with a record. d.recID[:absent] are the absent ids and
// d.recID[absent:] the record ids, both ascending, as are the entries.
func (d *Decoder) checkExtras(r *reader, st *decTarget, before uint64, absent int) {
	abs, recs := d.recID[:absent], d.recID[absent:]
	ai, ri := 0, 0
	for _, x := range d.xs {
		for ai < len(abs) && abs[ai] < x.id {
			ai++
		}
		for ri < len(recs) && recs[ri] < x.id {
			ri++
		}
		hasRec := ri < len(recs) && recs[ri] == x.id
		wasAbsent := ai < len(abs) && abs[ai] == x.id
		if !hasRec && (uint64(x.id) >= before || !st.slots[x.id].present || wasAbsent) {
			r.Fail("extra entry for slot %d, which is not present", x.id)
			return
		}
	}
}

// applyExtras commits the staged extra entries to the target's slots.
func (st *decTarget) applyExtras(xs []extra) {
	for _, e := range xs {
		sl := &st.slots[e.id]
		x := st.extras[e.id]
		if x == nil {
			if st.extras == nil {
				st.extras = make(map[uint32]*decExtra)
			}
			x = &decExtra{}
			st.extras[e.id] = x
		}
		switch e.what &^ whatExemplars {
		case histNone:
			x.h = nil
		case histAbsolute, histChange:
			x.h = e.h
		}
		if e.what&whatExemplars != 0 {
			x.ex = e.exemplars
		}
		sl.extra = x.h != nil || x.ex != nil
		if !sl.extra {
			delete(st.extras, e.id)
		}
	}
}
