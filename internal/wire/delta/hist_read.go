package delta

// minExemplar is the smallest encoded exemplar: labels, value, flags, Δt.
const minExemplar = 1 + 8 + 1 + 1

func (r *reader) u64() uint64 { return r.Uint64("float") }

func (r *reader) spans() []Span {
	n := r.Count(2)
	if n == 0 {
		return nil
	}
	out := make([]Span, 0, n)
	for i := 0; i < n && r.Err == nil; i++ {
		off, l := r.Varint(), r.Uvarint()
		if off != int64(int32(off)) || l != uint64(uint32(l)) {
			r.Fail("histogram span out of range")
		}
		out = append(out, Span{Offset: int32(off), Length: uint32(l)})
	}
	return out
}

func (r *reader) u64s() []uint64 {
	n := r.Count(8)
	if n == 0 {
		return nil
	}
	out := make([]uint64, 0, n)
	for i := 0; i < n && r.Err == nil; i++ {
		out = append(out, r.u64())
	}
	return out
}

func (r *reader) buckets(float bool) []uint64 {
	if float {
		return r.u64s()
	}
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	out := make([]uint64, 0, n)
	for i := 0; i < n && r.Err == nil; i++ {
		out = append(out, uint64(r.Varint()))
	}
	return out
}

// resetHint reads a counter reset hint: any byte is carried as it is.
func (r *reader) resetHint() uint8 { return r.Byte() }

// histogram reads what appendHistogram wrote.
func (r *reader) histogram() *Histogram {
	flags := r.Byte()
	if flags&^1 != 0 {
		r.Fail("bad histogram flags %#x", flags)
		return nil
	}
	h := &Histogram{Float: flags == 1, ResetHint: r.resetHint()}
	s := r.Varint()
	if s != int64(int32(s)) {
		r.Fail("histogram schema %d out of range", s)
	}
	h.Schema = int32(s)
	h.ZeroThreshold = r.u64()
	if h.Float {
		h.ZeroCount, h.Count = r.u64(), r.u64()
	} else {
		h.ZeroCount, h.Count = r.Uvarint(), r.Uvarint()
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
			return o ^ r.Uvarint()
		}
		return o + uint64(r.Varint())
	}
	h.ZeroCount = diff(h.ZeroCount)
	h.Count = diff(h.Count)
	h.Sum ^= r.Uvarint()
	for _, bs := range [2][]uint64{h.PositiveBuckets, h.NegativeBuckets} {
		for i := range bs {
			if r.Err != nil {
				break
			}
			bs[i] = diff(bs[i])
		}
	}
	return h
}

func (r *reader) exemplars(frameTS int64) []Exemplar {
	n := r.Count(minExemplar)
	if n == 0 {
		return nil
	}
	out := make([]Exemplar, 0, n)
	for i := 0; i < n && r.Err == nil; i++ {
		e := Exemplar{Labels: r.Str(), V: r.u64()}
		switch flags := r.Byte(); flags {
		case 0, 1:
			e.HasTs = flags == 1
		default:
			r.Fail("bad exemplar flags %#x", flags)
		}
		e.T = frameTS + r.Varint()
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
	n := r.Count(2)
	id := int64(-1)
	for i := 0; i < n && r.Err == nil; i++ {
		id += int64(r.Uvarint()) + 1
		if id < 0 || uint64(id) >= total {
			r.Fail("extra entry id %d out of range", id)
			break
		}
		x := extra{id: uint32(id), what: r.Byte()}
		if x.what&^whatMask != 0 || x.what == histUnchanged {
			r.Fail("bad extra entry %#x", x.what)
			break
		}
		switch x.what &^ whatExemplars {
		case histAbsolute:
			x.h = r.histogram()
		case histChange:
			old := base(x.id)
			if old == nil {
				r.Fail("histogram change for slot %d without a histogram", id)
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
