package delta

import (
	"encoding/binary"
	"slices"
	"strings"
)

// Frame kinds (the flags byte after the version).
const (
	kindIncremental = 1 << 0 // clear: full frame
	kindAttrs       = 1 << 1 // Attrs follows the timestamp
	kindExtra       = 1 << 2 // an extra section (histograms, exemplars) precedes the samples; version 2
	kindMask        = kindIncremental | kindAttrs | kindExtra
)

// Encoder turns scrapes into frames. It keeps, per target, the series
// dictionary and each series' last sample. The zero value is not usable;
// call NewEncoder.
type Encoder struct {
	gen     uint64
	stamp   uint32
	targets map[string]*encTarget
	dups    uint64
	v3      bool // full frames from now on are version 3 (SetVersion)

	// scratch, reused across frames
	gaps   []byte
	hdrs   []byte
	st     streams
	absent []uint32
	meta   []Meta
	kbuf   []byte // a key from Scrape.Keys
	xbuf   []byte // the extra section's entries
	nx     int    // entries in xbuf
	secs   Sections
}

type encTarget struct {
	gen       uint64 // generation of the target's last frame
	k         uint64 // frame counter within gen
	ts        int64  // previous frame's timestamp
	forceFull bool
	v3        bool // the target's frames since its last full frame are version 3
	keyed     bool // the last frame's series were identity strings (Scrape.Keys)
	attrs     string
	// dict maps a series key to its slot; nil until a scrape's series
	// are not found in slot order (see slotOf), and dropped again after a
	// frame whose series all were: a steady target keeps no map.
	dict  map[string]uint32
	slots []encSlot
	meta  []Meta // sorted by Family
	// extras holds the histogram and exemplar state of the slots that
	// have one (encSlot.extra set).
	extras map[uint32]*encExtra
}

// encExtra is a slot's histogram and exemplars: as last sent (h, ex) and
// as staged from the scrape being encoded (curH, curEx, aliasing the
// caller's values until AppendFrame returns).
type encExtra struct {
	h, curH   *Histogram
	ex, curEx []Exemplar
}

type encSlot struct {
	labels  string
	v       uint64
	curT    int64
	curV    uint64
	tr      trend  // version 3: the series' increment as the decoder has it
	seen    uint32 // encoder stamp of the last scrape containing the series
	present bool
	extra   bool // the slot has an entry in encTarget.extras
	scale   int8 // smallest decimal scale of v, or scaleUnknown
}

// NewEncoder returns an encoder whose current generation is gen. An edge
// that restarts without its encoder state should pass a generation larger
// than any it used before (for example the current Unix time in seconds
// when Checkpoint runs at most once a second on average), so generations
// in its queue stay ordered.
func NewEncoder(gen uint64) *Encoder {
	return &Encoder{gen: gen, targets: make(map[string]*encTarget)}
}

// Generation returns the current generation.
func (e *Encoder) Generation() uint64 { return e.gen }

// Checkpoint starts the next generation: every target's next frame is a
// full frame. Targets that had no frame in the generation just ended are
// forgotten. It returns the new generation.
func (e *Encoder) Checkpoint() uint64 {
	for name, t := range e.targets {
		if t.gen != e.gen {
			delete(e.targets, name)
		}
	}
	e.gen++
	return e.gen
}

// ForceFull makes the next frame of target a full frame, in the current
// generation (the answer to an ErrNeedFull on a live link).
func (e *Encoder) ForceFull(target string) {
	if t := e.targets[target]; t != nil {
		t.forceFull = true
	}
}

// SetVersion sets the frame version of the full frames written from now
// on, and so of each target's frames from its next full frame (its first
// in the next generation, or after ForceFull): Version3, which only a
// cloud speaking uplink protocol 7 or later decodes, or Version (frames
// of version 1 and 2, the default).
func (e *Encoder) SetVersion(v int) { e.v3 = v == Version3 }

// FrameVersion returns the frame version SetVersion last set: Version3 or
// Version.
func (e *Encoder) FrameVersion() int {
	if e.v3 {
		return Version3
	}
	return Version
}

// Duplicates returns how many samples AppendFrame has dropped because their
// label set occurred earlier in the same scrape.
func (e *Encoder) Duplicates() uint64 { return e.dups }

// keyOf returns the copy of a series key the encoder keeps: key itself when
// the caller promised it never changes (Scrape.StableLabels).
func keyOf(s *Scrape, key string) string {
	if s.StableLabels || s.Keys != nil {
		return key
	}
	return strings.Clone(key)
}

// AppendFrame appends the frame of scrape s to dst and returns the result.
// The frame is full if s.Target has had no frame in the current generation
// (or ForceFull was called), incremental otherwise. A series repeated in s
// keeps its first sample. The encoder copies the Labels strings it keeps
// (unless s.StableLabels), so they may alias memory the caller reuses once
// AppendFrame returns; it retains Target, Attrs and Metadata strings as they
// are.
func (e *Encoder) AppendFrame(dst []byte, s *Scrape) []byte {
	t := e.targets[s.Target]
	fresh := t == nil
	if fresh {
		t = &encTarget{}
		e.targets[s.Target] = t
	}
	e.stamp++
	if fresh || t.gen != e.gen {
		t.gen, t.k = e.gen, 0
		return e.appendFull(dst, t, s)
	}
	t.k++
	if t.forceFull || t.keyed != (s.Keys != nil) {
		return e.appendFull(dst, t, s)
	}
	return e.appendIncremental(dst, t, s)
}

func (e *Encoder) appendHeader(dst []byte, t *encTarget, s *Scrape, kind byte) []byte {
	if kind&kindIncremental == 0 || s.Attrs != t.attrs {
		kind |= kindAttrs
	}
	v := byte(Version1)
	if t.v3 {
		v = Version3
	}
	dst = append(dst, v, kind)
	dst = appendString(dst, s.Target)
	dst = binary.AppendUvarint(dst, t.gen)
	dst = binary.AppendUvarint(dst, t.k)
	if kind&kindIncremental == 0 {
		dst = binary.AppendVarint(dst, s.Timestamp)
	} else {
		dst = binary.AppendVarint(dst, s.Timestamp-t.ts)
	}
	if kind&kindAttrs != 0 {
		dst = appendString(dst, s.Attrs)
		t.attrs = s.Attrs
	}
	t.ts = s.Timestamp
	return dst
}

func (e *Encoder) appendFull(dst []byte, t *encTarget, s *Scrape) []byte {
	t.forceFull, t.keyed, t.v3 = false, s.Keys != nil, e.v3
	start := len(dst)
	dst = e.appendHeader(dst, t, s, 0)
	e.secs = Sections{Header: len(dst) - start}

	e.sortMeta(s.Metadata)
	t.meta = append(t.meta[:0], e.meta...)
	dst = binary.AppendUvarint(dst, uint64(len(t.meta)))
	for i := range t.meta {
		dst = appendMeta(dst, &t.meta[i])
	}

	t.dict = make(map[string]uint32, len(s.Series)) // for duplicates; dropped below
	clear(t.slots)
	clear(t.extras)
	t.slots = slices.Grow(t.slots[:0], len(s.Series))
	e.xbuf, e.nx = e.xbuf[:0], 0
	prevX, xi := -1, 0
	for i := range s.Series {
		sr := &s.Series[i]
		var x *Extra
		x, xi = s.extraOf(i, xi)
		if _, dup := t.dict[sr.Labels]; dup {
			e.dups++
			continue
		}
		key := keyOf(s, sr.Labels)
		id := len(t.slots)
		t.dict[key] = uint32(id)
		sl := encSlot{labels: key, v: sr.V, curT: sr.T, seen: e.stamp, present: true}
		if x != nil && (x.H != nil || len(x.Exemplars) > 0) {
			if x.H != nil {
				sl.v = 0
			}
			sl.extra = true
			t.extraMap()[uint32(id)] = &encExtra{h: x.H.Clone(), ex: cloneExemplars(x.Exemplars)}
			e.xbuf = appendExtra(e.xbuf, uint64(id-prevX-1), nil, x.H, len(x.Exemplars) > 0, x.Exemplars, s.Timestamp)
			e.nx++
			prevX = id
		}
		t.slots = append(t.slots, sl)
	}
	e.secs.Meta = len(dst) - start - e.secs.Header
	t.dict = nil // series in slot order: the next frame finds them by position
	e.resetStreams(t)
	for i := range t.slots {
		sl := &t.slots[i]
		e.hdrs, sl.scale, _ = appendValue(e.hdrs, &e.st, 0, 0, sl.v, sl.curT, s.Timestamp, 0)
	}
	// The rest of the frame in one allocation: a large target's full
	// frame is megabytes, which growing by append would copy and leave
	// behind as garbage several times over.
	dst = slices.Grow(dst, e.fullRest(s, t))
	mark := len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(t.slots)))
	for i := range t.slots {
		dst = e.appendKey(dst, s, t.slots[i].labels)
	}
	e.secs.Series = len(dst) - mark
	mark = len(dst)
	dst = e.appendExtras(dst, start)
	e.secs.Extra = len(dst) - mark
	return e.appendStreams(dst)
}

func (e *Encoder) appendIncremental(dst []byte, t *encTarget, s *Scrape) []byte {
	start := len(dst)
	dst = e.appendHeader(dst, t, s, kindIncremental)
	e.secs = Sections{Header: len(dst) - start}
	dst = e.appendMetaDiff(dst, t, s.Metadata)
	e.secs.Meta = len(dst) - start - e.secs.Header
	before := len(t.slots)
	e.stageSeries(t, s)
	nrec := e.codeChanges(t, s.Timestamp)
	mark := len(dst)
	dst = e.appendSlotChanges(dst, t, s, before, nrec)
	e.secs.Gaps = len(e.gaps)
	e.secs.Series = len(dst) - mark - e.secs.Gaps
	mark = len(dst)
	dst = e.appendExtras(dst, start)
	e.secs.Extra = len(dst) - mark
	return e.appendStreams(dst)
}

// stageSeries is an incremental scrape's first pass: it finds or adds each
// series of s in t's dictionary and stages its sample (and its histogram or
// exemplars) in its slot; a series seen twice in s counts as a duplicate.
func (e *Encoder) stageSeries(t *encTarget, s *Scrape) {
	xi, next, missed := 0, 0, false
	for i := range s.Series {
		sr := &s.Series[i]
		var xs *Extra
		if xi < len(s.Extras) {
			xs, xi = s.extraOf(i, xi)
		}
		id, ok := uint32(next), next < len(t.slots) && t.slots[next].labels == sr.Labels
		if !ok {
			missed = true
			id, ok = t.lookup(sr.Labels)
		}
		if !ok {
			id = uint32(len(t.slots))
			key := keyOf(s, sr.Labels)
			t.dict[key] = id
			t.slots = append(t.slots, encSlot{labels: key, scale: 0})
		}
		next = int(id) + 1
		sl := &t.slots[id]
		if sl.seen == e.stamp {
			e.dups++
			continue
		}
		sl.seen, sl.curT, sl.curV = e.stamp, sr.T, sr.V
		if xs != nil && (xs.H != nil || len(xs.Exemplars) > 0) {
			if xs.H != nil {
				sl.curV = 0
			}
			x := t.extraMap()[id]
			if x == nil {
				x = &encExtra{}
				t.extras[id] = x
			}
			x.curH, x.curEx, sl.extra = xs.H, xs.Exemplars, true
		}
	}
	if !missed {
		t.dict = nil
	}
}

// codeChanges is the second pass: in id order it lists the series gone
// (e.absent), stages the extras, and codes each changed sample into the
// streams with its id gap (e.gaps). It returns the number of samples coded.
func (e *Encoder) codeChanges(t *encTarget, ts int64) int {
	e.absent, e.gaps = e.absent[:0], e.gaps[:0]
	e.xbuf, e.nx = e.xbuf[:0], 0
	e.resetStreams(t)
	nrec, prev, prevX := 0, -1, -1
	for id := range t.slots {
		sl := &t.slots[id]
		if sl.seen != e.stamp {
			if sl.present {
				sl.present, sl.tr = false, 0
				e.absent = append(e.absent, uint32(id))
			}
			continue
		}
		if sl.extra && e.stageExtra(t, sl, uint32(id), id-prevX-1, ts) {
			prevX = id
		}
		if sl.present && sl.curT == ts && sl.curV == sl.v && sl.tr == 0 {
			continue // the common case of every version: unchanged
		}
		if sl.present && sl.curT == ts && t.v3 {
			if want, moved := sl.tr.predict(sl.v); sl.curV == want {
				sl.v, sl.tr = want, sl.tr.unpredicted(moved)
				continue
			}
		} else if sl.present && sl.curT == ts && sl.curV == sl.v {
			continue
		}
		e.gaps = binary.AppendUvarint(e.gaps, uint64(id-prev-1))
		prev = id
		var sc int8
		var tr trend
		e.hdrs, sc, tr = appendValue(e.hdrs, &e.st, sl.v, sl.scale, sl.curV, sl.curT, ts, sl.tr)
		if sl.v != sl.curV {
			sl.scale = sc
		}
		if t.v3 {
			sl.tr = tr
		}
		sl.v, sl.present = sl.curV, true
		nrec++
	}
	return nrec
}

// appendSlotChanges appends the series added since slot before, the ids of
// the series gone, and the count and id gaps of the nrec coded samples.
func (e *Encoder) appendSlotChanges(dst []byte, t *encTarget, s *Scrape, before, nrec int) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(t.slots)-before))
	for i := range t.slots[before:] {
		dst = e.appendKey(dst, s, t.slots[before+i].labels)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.absent)))
	prev := -1
	for _, id := range e.absent {
		dst = binary.AppendUvarint(dst, uint64(int(id)-prev-1))
		prev = int(id)
	}
	dst = binary.AppendUvarint(dst, uint64(nrec))
	dst = binary.AppendUvarint(dst, uint64(len(e.gaps)))
	return append(dst, e.gaps...)
}

func (e *Encoder) resetStreams(t *encTarget) {
	e.hdrs = e.hdrs[:0]
	e.st.ints, e.st.xors, e.st.ts, e.st.top = e.st.ints[:0], e.st.xors[:0], e.st.ts[:0], e.st.top[:0]
	e.st.v3 = t.v3
}
