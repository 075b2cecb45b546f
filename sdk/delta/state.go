package delta

import (
	"encoding/binary"
	"slices"
)

// stateMagic starts a serialised decoder state; the byte after it is the
// state format version.
const (
	stateMagic   = "ERDS"
	stateVersion = 1
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
func (d *Decoder) MarshalState(dst []byte) []byte {
	names := make([]string, 0, len(d.targets))
	for n := range d.targets {
		names = append(names, n)
	}
	slices.Sort(names)
	dst = append(dst, stateMagic...)
	dst = append(dst, stateVersion)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, n := range names {
		st := d.targets[n]
		dst = appendString(dst, n)
		dst = binary.AppendUvarint(dst, st.gen)
		dst = binary.AppendUvarint(dst, st.k)
		dst = binary.AppendVarint(dst, st.ts)
		dst = appendString(dst, st.attrs)
		dst = binary.AppendUvarint(dst, uint64(len(st.meta)))
		for i := range st.meta {
			dst = appendMeta(dst, &st.meta[i])
		}
		dst = binary.AppendUvarint(dst, uint64(len(st.slots)))
		for i := range st.slots {
			sl := &st.slots[i]
			dst = appendString(dst, sl.labels)
			var flags byte
			if sl.present {
				flags = 1
			}
			dst = append(dst, flags)
			dst = binary.AppendVarint(dst, sl.t-st.ts)
			dst = binary.LittleEndian.AppendUint64(dst, sl.v)
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
	if v := data[len(stateMagic)]; v != stateVersion {
		return corruptf("unsupported state version %d", v)
	}
	r := reader{buf: data[len(stateMagic)+1:]}
	nt := r.count(7) // the smallest target record
	targets := make(map[string]*decTarget, nt)
	for i := 0; i < nt && r.err == nil; i++ {
		name := r.str()
		if _, dup := targets[name]; dup {
			r.fail("duplicate target %q", name)
			break
		}
		st := &decTarget{gen: r.uvarint(), k: r.uvarint(), ts: r.varint(), attrs: r.str()}
		nm := r.count(4)
		st.meta = make([]Meta, 0, nm)
		for j := 0; j < nm && r.err == nil; j++ {
			m := r.meta()
			if j > 0 && m.Family <= st.meta[j-1].Family {
				r.fail("metadata families out of order")
			}
			st.meta = append(st.meta, m)
		}
		ns := r.count(11)
		st.slots = make([]decSlot, ns)
		st.index = make(map[string]uint32, ns)
		for j := 0; j < ns && r.err == nil; j++ {
			sl := &st.slots[j]
			sl.labels = r.str()
			if _, dup := st.index[sl.labels]; dup {
				r.fail("duplicate label set")
			}
			st.index[sl.labels] = uint32(j)
			flags := r.byte()
			if flags&^1 != 0 {
				r.fail("bad slot flags %#x", flags)
			}
			sl.present = flags&1 != 0
			if sl.present {
				st.npresent++
			}
			sl.t = st.ts + r.varint()
			if len(r.buf) < 8 {
				r.fail("truncated value")
				break
			}
			sl.v = binary.LittleEndian.Uint64(r.buf)
			r.buf = r.buf[8:]
		}
		targets[name] = st
	}
	if err := r.end(); err != nil {
		return err
	}
	d.targets = targets
	return nil
}
