package delta

import "encoding/binary"

// minExemplar is the smallest encoded exemplar: labels, value, flags, Δt.
const minExemplar = 1 + 8 + 1 + 1

func (r *reader) u64() uint64 {
	if len(r.buf) < 8 {
		r.fail("truncated float")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.buf)
	r.buf = r.buf[8:]
	return v
}

func (r *reader) spans() []Span {
	n := r.count(2)
	if n == 0 {
		return nil
	}
	out := make([]Span, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		off, l := r.varint(), r.uvarint()
		if off != int64(int32(off)) || l != uint64(uint32(l)) {
			r.fail("histogram span out of range")
		}
		out = append(out, Span{Offset: int32(off), Length: uint32(l)})
	}
	return out
}

func (r *reader) u64s() []uint64 {
	n := r.count(8)
	if n == 0 {
		return nil
	}
	out := make([]uint64, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.u64())
	}
	return out
}

func (r *reader) buckets(float bool) []uint64 {
	if float {
		return r.u64s()
	}
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]uint64, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, uint64(r.varint()))
	}
	return out
}

// resetHint reads a counter reset hint: any byte is carried as it is.
func (r *reader) resetHint() uint8 { return r.byte() }

// histogram reads what appendHistogram wrote.
func (r *reader) histogram() *Histogram {
	flags := r.byte()
	if flags&^1 != 0 {
		r.fail("bad histogram flags %#x", flags)
		return nil
	}
	h := &Histogram{Float: flags == 1, ResetHint: r.resetHint()}
	s := r.varint()
	if s != int64(int32(s)) {
		r.fail("histogram schema %d out of range", s)
	}
	h.Schema = int32(s)
	h.ZeroThreshold = r.u64()
	if h.Float {
		h.ZeroCount, h.Count = r.u64(), r.u64()
	} else {
		h.ZeroCount, h.Count = r.uvarint(), r.uvarint()
	}
	h.Sum = r.u64()
	h.PositiveSpans = r.spans()
	h.NegativeSpans = r.spans()
	h.PositiveBuckets = r.buckets(h.Float)
	h.NegativeBuckets = r.buckets(h.Float)
	h.CustomValues = r.u64s()
	return h
}

// change reads what appendChange wrote against old, into a new histogram.
func (r *reader) change(old *Histogram) *Histogram {
	h := old.Clone()
	h.ResetHint = r.resetHint()
	diff := func(o uint64) uint64 {
		if h.Float {
			return o ^ r.uvarint()
		}
		return o + uint64(r.varint())
	}
	h.ZeroCount = diff(h.ZeroCount)
	h.Count = diff(h.Count)
	h.Sum ^= r.uvarint()
	for _, bs := range [2][]uint64{h.PositiveBuckets, h.NegativeBuckets} {
		for i := range bs {
			if r.err != nil {
				break
			}
			bs[i] = diff(bs[i])
		}
	}
	return h
}

func (r *reader) exemplars(frameTS int64) []Exemplar {
	n := r.count(minExemplar)
	if n == 0 {
		return nil
	}
	out := make([]Exemplar, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		e := Exemplar{Labels: r.str(), V: r.u64()}
		switch flags := r.byte(); flags {
		case 0, 1:
			e.HasTs = flags == 1
		default:
			r.fail("bad exemplar flags %#x", flags)
		}
		e.T = frameTS + r.varint()
		out = append(out, e)
	}
	return out
}

// extra is one decoded entry of a frame's extra section.
type extra struct {
	id        uint32
	what      byte
	h         *Histogram
	exemplars []Exemplar
}

// extras reads a frame's extra section: entries for slot ids below total,
// ascending. base returns a slot's current histogram. Staged entries are
// appended to dst.
func (r *reader) extras(dst []extra, total uint64, base func(id uint32) *Histogram, frameTS int64) []extra {
	n := r.count(2)
	id := int64(-1)
	for i := 0; i < n && r.err == nil; i++ {
		id += int64(r.uvarint()) + 1
		if id < 0 || uint64(id) >= total {
			r.fail("extra entry id %d out of range", id)
			break
		}
		x := extra{id: uint32(id), what: r.byte()}
		if x.what&^whatMask != 0 || x.what == histUnchanged {
			r.fail("bad extra entry %#x", x.what)
			break
		}
		switch x.what &^ whatExemplars {
		case histAbsolute:
			x.h = r.histogram()
		case histChange:
			old := base(x.id)
			if old == nil {
				r.fail("histogram change for slot %d without a histogram", id)
				break
			}
			x.h = r.change(old)
		}
		if x.what&whatExemplars != 0 {
			x.exemplars = r.exemplars(frameTS)
		}
		dst = append(dst, x)
	}
	return dst
}
