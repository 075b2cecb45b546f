package delta

import (
	"encoding/binary"
	"slices"
)

// stateMagic starts a serialised decoder state; the byte after it is the
// state format version.
const (
	stateMagic = "ERDS"
	// stateVersion1 has no histograms or exemplars; MarshalState writes it
	// when no slot holds one, stateVersion otherwise.
	stateVersion1 = 1
	stateVersion  = 2
	// stateVersion3 adds a flags byte per target (bit 0: its frames are
	// version 3) and slot flag bit 3 (the slot's trend follows); written
	// when a target's frames are version 3.
	stateVersion3 = 3
)

// Slot flags in a marshalled state.
const (
	slotPresent   = 1 << 0
	slotHistogram = 1 << 1 // version 2: a histogram follows the value
	slotExemplars = 1 << 2 // version 2: exemplars follow (the histogram)
	slotTrend     = 1 << 3 // version 3: the slot's trend follows (zigzag varint)

	targetV3 = 1 << 0 // version 3 target flag: frames of version 3
)

// MarshalState appends the decoder's bases to dst, so a restarted cloud can
// resume incremental frames where it stopped. Targets are written in
// ascending order; the output depends only on the bases.
//
// Layout (integers are varints, strings length-prefixed):
//
//	"ERDS" version(1 byte) ntargets target…
//	target: name gen k ts(zigzag) attrs nmeta {family type help unit}…
//	        nslots slot…
//	slot:   labels flags(bit 0 = present) Δt(zigzag, t − ts) value(8 bytes LE)
//
// Version 2 adds flag bits 1 (a histogram follows, as in a frame's extra
// section) and 2 (exemplars follow, timestamps against ts). Version 3 adds
// a target flags byte after attrs (bit 0: frames of version 3) and slot
// flag bit 3 (the slot's trend follows, a zigzag varint, last).
func (d *Decoder) MarshalState(dst []byte) []byte {
	names := make([]string, 0, len(d.targets))
	version := byte(stateVersion1)
	for n, st := range d.targets {
		names = append(names, n)
		if len(st.extras) > 0 {
			version = max(version, stateVersion)
		}
		if st.v3 {
			version = stateVersion3
		}
	}
	slices.Sort(names)
	dst = append(dst, stateMagic...)
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, n := range names {
		st := d.targets[n]
		dst = appendString(dst, n)
		dst = binary.AppendUvarint(dst, st.gen)
		dst = binary.AppendUvarint(dst, st.k)
		dst = binary.AppendVarint(dst, st.ts)
		dst = appendString(dst, st.attrs)
		if version == stateVersion3 {
			var tf byte
			if st.v3 {
				tf = targetV3
			}
			dst = append(dst, tf)
		}
		dst = binary.AppendUvarint(dst, uint64(len(st.meta)))
		for i := range st.meta {
			dst = appendMeta(dst, &st.meta[i])
		}
		dst = binary.AppendUvarint(dst, uint64(len(st.slots)))
		for i := range st.slots {
			sl := &st.slots[i]
			dst = appendString(dst, sl.key())
			var flags byte
			if sl.present {
				flags = slotPresent
			}
			if sl.tr != 0 {
				flags |= slotTrend
			}
			var x *decExtra
			if sl.extra {
				x = st.extras[uint32(i)]
				if x.h != nil {
					flags |= slotHistogram
				}
				if x.ex != nil {
					flags |= slotExemplars
				}
			}
			dst = append(dst, flags)
			dst = binary.AppendVarint(dst, sl.t-st.ts)
			dst = binary.LittleEndian.AppendUint64(dst, sl.v)
			if flags&slotHistogram != 0 {
				dst = appendHistogram(dst, x.h)
			}
			if flags&slotExemplars != 0 {
				dst = appendExemplars(dst, x.ex, st.ts)
			}
			if flags&slotTrend != 0 {
				dst = binary.AppendVarint(dst, int64(sl.tr))
			}
		}
	}
	return dst
}

// UnmarshalState replaces the decoder's bases with those in data, written
// by MarshalState. On error (wrapping ErrCorrupt) the decoder is unchanged.
func (d *Decoder) UnmarshalState(data []byte) error {
	if len(data) < len(stateMagic)+1 || string(data[:len(stateMagic)]) != stateMagic {
		return corruptf("bad state magic")
	}
	version := data[len(stateMagic)]
	if version != stateVersion1 && version != stateVersion && version != stateVersion3 {
		return corruptf("unsupported state version %d", version)
	}
	allowed := byte(slotPresent)
	if version >= stateVersion {
		allowed |= slotHistogram | slotExemplars
	}
	r := newReader(data[len(stateMagic)+1:])
	nt := r.Count(7) // the smallest target record
	targets := make(map[string]*decTarget, nt)
	for i := 0; i < nt && r.Err == nil; i++ {
		name := r.Str()
		if _, dup := targets[name]; dup {
			r.Fail("duplicate target %q", name)
			break
		}
		st := &decTarget{gen: r.Uvarint(), k: r.Uvarint(), ts: r.Varint(), attrs: r.Str()}
		slotAllowed := allowed
		if version == stateVersion3 {
			tf := r.Byte()
			if tf&^targetV3 != 0 {
				r.Fail("bad target flags %#x", tf)
			}
			if st.v3 = tf&targetV3 != 0; st.v3 {
				slotAllowed |= slotTrend
			}
		}
		nm := r.Count(4)
		st.meta = make([]Meta, 0, nm)
		for j := 0; j < nm && r.Err == nil; j++ {
			m := r.meta()
			if j > 0 && m.Family <= st.meta[j-1].Family {
				r.Fail("metadata families out of order")
			}
			st.meta = append(st.meta, m)
		}
		ns := r.Count(11)
		st.slots = make([]decSlot, ns)
		seen := make(map[string]struct{}, ns) // st.index is built when needed
		for j := 0; j < ns && r.Err == nil; j++ {
			sl := &st.slots[j]
			sl.data = r.Str()
			if _, dup := seen[sl.data]; dup {
				r.Fail("duplicate label set")
			}
			seen[sl.data] = struct{}{}
			flags := r.Byte()
			if flags&^slotAllowed != 0 {
				r.Fail("bad slot flags %#x", flags)
			}
			sl.present = flags&slotPresent != 0
			if sl.present {
				st.npresent++
			}
			sl.t = st.ts + r.Varint()
			if sl.v = r.Uint64("value"); r.Err != nil {
				break
			}
			if flags&(slotHistogram|slotExemplars) != 0 {
				x := &decExtra{}
				if flags&slotHistogram != 0 {
					x.h = r.histogram()
				}
				if flags&slotExemplars != 0 {
					if x.ex = r.exemplars(st.ts); x.ex == nil {
						r.Fail("slot flagged with exemplars has none")
					}
				}
				if st.extras == nil {
					st.extras = make(map[uint32]*decExtra)
				}
				st.extras[uint32(j)] = x
				sl.extra = true
			}
			if flags&slotTrend != 0 {
				if sl.tr = trend(r.Varint()); sl.tr.inc() == 0 || !sl.present {
					r.Fail("bad slot trend")
				}
			}
		}
		targets[name] = st
	}
	if err := r.End(); err != nil {
		return err
	}
	d.targets = targets
	return nil
}
