package delta

import (
	"slices"
)

// Decoder applies frames to per-target bases and returns the scrapes they
// carry. The zero value is not usable; call NewDecoder.
type Decoder struct {
	targets map[string]*decTarget

	// scratch for staging an incremental frame before it is committed,
	// taken from scratchPool (decshare.go) for one Apply
	sc    *decScratch
	recID []uint32
	recT  []int64
	recV  []uint64
	recTr []trend
	xs    []extra
}

type decTarget struct {
	gen, k uint64
	ts     int64
	v3     bool // frame version 3 since the last full frame
	attrs  string
	slots  []decSlot
	// index maps labels → id, to refuse a label set added twice; nil
	// until a frame adds series (indexed), so a steady target does not
	// keep it.
	index    map[string]uint32
	meta     []Meta // sorted by Family
	npresent int
	// extras holds the histogram and exemplars of the slots that have
	// one (decSlot.extra set). A Histogram held here is never modified.
	extras map[uint32]*decExtra
}

type decExtra struct {
	h  *Histogram
	ex []Exemplar
}

type decSlot struct {
	// data holds the label set: all of it, or (klen > 0) its first klen
	// bytes, when a caller gave the decoder a string holding it (ShareKeys).
	data    string
	t       int64
	v       uint64
	tr      trend // version 3: the series' increment
	klen    int32
	present bool
	extra   bool
}

// NewDecoder returns a decoder holding no bases.
func NewDecoder() *Decoder {
	return &Decoder{targets: make(map[string]*decTarget)}
}

// Forget drops the base of target; its next incremental frame gets
// ErrNeedFull.
func (d *Decoder) Forget(target string) { delete(d.targets, target) }

// Targets returns the number of targets the decoder holds a base for.
func (d *Decoder) Targets() int { return len(d.targets) }

// Apply decodes one frame against the base of its target and returns the
// scrape it carries. A full frame always applies and replaces the base. An
// incremental frame applies only on top of the frame just before it in the
// same generation, otherwise Apply returns *ErrNeedFull. On any error the
// decoder is unchanged.
func (d *Decoder) Apply(frame []byte) (*Scrape, error) {
	d.takeScratch()
	defer d.releaseScratch()
	r := newReader(frame)
	v := r.Byte()
	kind := r.Byte()
	if err := checkKind(v, kind, r.Err); err != nil {
		return nil, err
	}
	target := r.Str()
	gen := r.Uvarint()
	k := r.Uvarint()
	ts := r.Varint()
	if r.Err != nil {
		return nil, r.Err
	}
	if kind&kindIncremental == 0 {
		if kind&kindAttrs == 0 {
			return nil, corruptf("full frame without attributes")
		}
		return d.applyFull(&r, target, kind, gen, k, ts, v == Version3)
	}
	st := d.targets[target]
	if st == nil || st.gen != gen || st.k+1 != k {
		return nil, &ErrNeedFull{Target: target, Generation: gen}
	}
	if st.v3 != (v == Version3) {
		return nil, corruptf("frame version %d on a base of another version", v)
	}
	return d.applyIncremental(&r, st, target, kind, k, st.ts+ts)
}

func (d *Decoder) applyFull(r *reader, target string, kind byte, gen, k uint64, ts int64, v3 bool) (*Scrape, error) {
	st := &decTarget{gen: gen, k: k, ts: ts, attrs: r.Str(), v3: v3}
	nm := r.Count(4)
	st.meta = make([]Meta, 0, nm)
	for i := 0; i < nm && r.Err == nil; i++ {
		m := r.meta()
		if i > 0 && m.Family <= st.meta[i-1].Family {
			r.Fail("metadata families out of order")
		}
		st.meta = append(st.meta, m)
	}
	ns := r.Count(2) // a label set and a record take at least a byte each
	st.slots = make([]decSlot, ns)
	seen := make(map[string]struct{}, ns) // st.index is built when needed
	for i := 0; i < ns && r.Err == nil; i++ {
		l := r.Str()
		if _, dup := seen[l]; dup {
			r.Fail("duplicate label set")
		}
		seen[l] = struct{}{}
		st.slots[i].data = l
	}
	d.xs = d.xs[:0]
	if kind&kindExtra != 0 {
		d.xs = r.extras(d.xs, uint64(ns), func(uint32) *Histogram { return nil }, ts)
	}
	hdrs, ss := r.readStreams(ns, v3)
	for i := 0; i < ns && r.Err == nil; i++ {
		sl := &st.slots[i]
		sl.v, sl.t, _, r.Err = readValue(hdrs[i], &ss, 0, ts, 0)
		sl.present = true
	}
	r.endStreams(&ss)
	if err := r.End(); err != nil {
		return nil, err
	}
	st.npresent = ns
	st.applyExtras(d.xs)
	d.targets[target] = st
	return st.scrape(target), nil
}

// applyIncremental applies an incremental frame on top of st's base: it
// reads and checks the whole frame first and changes st only once all of
// it is well formed.
func (d *Decoder) applyIncremental(r *reader, st *decTarget, target string, kind byte, k uint64, ts int64) (*Scrape, error) {
	attrs := st.attrs
	if kind&kindAttrs != 0 {
		attrs = r.Str()
	}
	meta := r.metaDiff(st.meta)

	before := uint64(len(st.slots))
	added := readAdded(r, st)
	absent := d.readAbsent(r, st, before)
	newRecs := d.readRecords(r, st, kind, before, before+uint64(len(added)), absent, ts)
	if r.Err == nil && newRecs != uint64(len(added)) {
		r.Fail("%d added series but %d of them have samples", len(added), newRecs)
	}
	if r.Err == nil && len(d.xs) > 0 {
		d.checkExtras(r, st, before, absent)
	}
	if err := r.End(); err != nil {
		return nil, err
	}
	st.k, st.ts, st.attrs, st.meta = k, ts, attrs, meta
	d.commitIncremental(st, added, absent, ts)
	return st.scrape(target), nil
}

// readAdded reads the label sets an incremental frame adds to st's
// dictionary, none of them known or given twice.
func readAdded(r *reader, st *decTarget) []string {
	na := r.Count(1)
	var added []string
	var index map[string]uint32
	if na > 0 {
		added = make([]string, 0, na)
		index = st.indexed()
	}
	seen := map[string]struct{}(nil)
	for i := 0; i < na && r.Err == nil; i++ {
		l := r.Str()
		if _, dup := index[l]; dup {
			r.Fail("added label set already known")
		}
		if seen == nil {
			seen = make(map[string]struct{}, na)
		}
		if _, dup := seen[l]; dup {
			r.Fail("label set added twice")
		}
		seen[l] = struct{}{}
		added = append(added, l)
	}
	return added
}

// readAbsent reads the ids of the series present in the base that this
// scrape lacks into d.recID and returns their number.
func (d *Decoder) readAbsent(r *reader, st *decTarget, before uint64) int {
	nabs := r.Count(1)
	d.recID = d.recID[:0]
	id := int64(-1)
	for i := 0; i < nabs && r.Err == nil; i++ {
		id += int64(r.Uvarint()) + 1
		if id < 0 || uint64(id) >= before || !st.slots[id].present {
			r.Fail("absent id %d is not a present series", id)
			break
		}
		d.recID = append(d.recID, uint32(id))
	}
	return len(d.recID)
}

// readRecords reads the frame's sample records — id gaps, extras, value
// streams — appending their ids to d.recID (after the absent ones) and
// their timestamps and values to d.recT and d.recV, and returns how many
// are for added series. before is the number of series in the base, total
// that plus the added ones.
func (d *Decoder) readRecords(r *reader, st *decTarget, kind byte, before, total uint64, absent int, ts int64) (newRecs uint64) {
	nrec := r.Count(2)
	gr := newReader(r.Bytes(r.Count(1))) // id gaps
	d.xs = d.xs[:0]
	if kind&kindExtra != 0 {
		d.xs = r.extras(d.xs, total, st.histogram, ts)
	}
	hdrs, ss := r.readStreams(nrec, st.v3)
	d.recT, d.recV, d.recTr = d.recT[:0], d.recV[:0], d.recTr[:0]
	id := int64(-1)
	ai := 0
	for i := 0; i < nrec && r.Err == nil; i++ {
		id += int64(gr.Uvarint()) + 1
		if gr.Err != nil {
			r.Fail("id gaps: %v", gr.Err)
			break
		}
		if id < 0 || uint64(id) >= total {
			r.Fail("record id %d out of range", id)
			break
		}
		for ai < absent && int64(d.recID[ai]) < id {
			ai++
		}
		if ai < absent && int64(d.recID[ai]) == id {
			r.Fail("record for absent id %d", id)
			break
		}
		var base uint64
		var tr trend
		if uint64(id) < before {
			base = st.slots[id].v
			if st.slots[id].present {
				tr = st.slots[id].tr
			}
		} else {
			newRecs++
		}
		var v uint64
		var t int64
		v, t, tr, r.Err = readValue(hdrs[i], &ss, base, ts, tr)
		d.recID = append(d.recID, uint32(id))
		d.recT = append(d.recT, t)
		d.recV = append(d.recV, v)
		d.recTr = append(d.recTr, tr)
	}
	r.endStreams(&ss)
	if r.Err == nil && len(gr.Buf) != 0 {
		r.Fail("%d trailing bytes of id gaps", len(gr.Buf))
	}
	return newRecs
}

// commitIncremental changes st's base to the scrape just read: added
// series, absent ones, and every record's sample.
func (d *Decoder) commitIncremental(st *decTarget, added []string, absent int, ts int64) {
	for _, l := range added {
		st.index[l] = uint32(len(st.slots)) // built by readAdded
		st.slots = append(st.slots, decSlot{data: l})
	}
	for _, id := range d.recID[:absent] {
		st.slots[id].present, st.slots[id].tr = false, 0
		st.npresent--
	}
	for i := range st.slots {
		if sl := &st.slots[i]; sl.present {
			sl.t = ts
			if sl.tr != 0 { // version 3: no record is the predicted value
				var moved bool
				sl.v, moved = sl.tr.predict(sl.v)
				sl.tr = sl.tr.unpredicted(moved)
			}
		}
	}
	for i, id := range d.recID[absent:] {
		sl := &st.slots[id]
		if !sl.present {
			st.npresent++
		}
		sl.t, sl.v, sl.present = d.recT[i], d.recV[i], true
		if st.v3 {
			sl.tr = d.recTr[i]
		}
	}
	st.applyExtras(d.xs)
}

// scrape returns the target's current scrape as a new value, its
// per-series arrays possibly those of a released one (Release).
func (st *decTarget) scrape(target string) *Scrape {
	series, data := takeArrays(st.npresent)
	s := &Scrape{Target: target, Timestamp: st.ts, Attrs: st.attrs,
		Series: series, Metadata: slices.Clone(st.meta)}
	for i := range st.slots {
		if sl := &st.slots[i]; sl.present {
			if sl.extra {
				x := st.extras[uint32(i)]
				s.Extras = append(s.Extras, Extra{Series: len(s.Series), H: x.h.Clone(), Exemplars: cloneExemplars(x.ex)})
			}
			if sl.klen > 0 {
				if s.Data == nil {
					if data == nil {
						data = make([]string, 0, cap(s.Series))
					}
					s.Data = append(data, make([]string, len(s.Series))...)
				}
				s.Data = append(s.Data, sl.data)
			} else if s.Data != nil {
				s.Data = append(s.Data, "")
			}
			s.Series = append(s.Series, Series{Labels: sl.key(), T: sl.t, V: sl.v, ID: uint32(i)})
		}
	}
	return s
}
