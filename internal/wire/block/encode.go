package block

import (
	"encoding/binary"
	"math"
	"sort"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// strtab interns the strings of one block.
type strtab struct {
	idx  map[string]uint64
	list []string
	// at remembers, by position in a label set (name, value, name, ...),
	// the string last interned there and its index: consecutive series
	// mostly share their label names and many values, which then cost a
	// string comparison instead of a map lookup.
	at [32]atRef
}

type atRef struct {
	s   string
	ref uint64
	set bool
}

// refAt is ref for the string at position pos of a label set.
func (t *strtab) refAt(pos int, s string) uint64 {
	if pos >= len(t.at) {
		return t.ref(s)
	}
	a := &t.at[pos]
	if a.set && a.s == s {
		return a.ref
	}
	r := t.ref(s)
	*a = atRef{s: s, ref: r, set: true}
	return r
}

func (t *strtab) ref(s string) uint64 {
	if i, ok := t.idx[s]; ok {
		return i
	}
	i := uint64(len(t.list))
	t.idx[s] = i
	t.list = append(t.list, s)
	return i
}

// scratch is what one Encode works in; kept in a pool so that a steady
// stream of blocks does not build its string index and buffers anew.
type scratch struct {
	t          strtab
	recs, body []byte
}

var scratches = sync.Pool{New: func() any {
	return &scratch{t: strtab{idx: make(map[string]uint64, 1024)}, recs: make([]byte, 0, 64*1024)}
}}

// maxKept bounds the buffers and the string index a pooled scratch keeps.
const maxKept = 8 << 20

// Encode appends the encoding of b to dst and returns the result.
func Encode(dst []byte, b *relay.Block) []byte {
	sc := scratches.Get().(*scratch)
	defer func() {
		if cap(sc.recs) > maxKept || cap(sc.body) > maxKept || len(sc.t.list) > maxKept/64 {
			return
		}
		clear(sc.t.idx)
		clear(sc.t.list) // drop references to the block's strings
		clear(sc.t.at[:])
		sc.t.list = sc.t.list[:0]
		scratches.Put(sc)
	}()
	t := &sc.t
	extras := hasExtras(b)
	recs := binary.AppendUvarint(sc.recs[:0], uint64(len(b.Batches)))
	for _, bt := range b.Batches {
		recs = encodeBatch(recs, t, bt, extras)
	}
	sc.recs = recs

	body := sc.body[:0]
	body = appendString(body, b.Tenant)
	body = appendString(body, b.Site)
	body = binary.AppendUvarint(body, uint64(len(t.list)))
	for _, s := range t.list {
		body = appendString(body, s)
	}
	body = append(body, recs...)
	version := byte(version1)
	switch {
	case extras:
		version = version3
	case len(b.Frames) > 0:
		version = version2
	}
	if version != version1 {
		body = binary.AppendUvarint(body, b.Generation)
		body = binary.AppendUvarint(body, uint64(len(b.Frames)))
		for _, f := range b.Frames {
			body = binary.AppendUvarint(body, uint64(len(f)))
			body = append(body, f...)
		}
	}

	sc.body = body
	dst = append(dst, magic...)
	dst = append(dst, version, flagZstd)
	return encoder.EncodeAll(body, dst)
}

func encodeBatch(dst []byte, t *strtab, b *relay.Batch, extras bool) []byte {
	var flags uint64
	if b.Scrape {
		flags |= 1
	}
	dst = binary.AppendUvarint(dst, flags)
	dst = binary.AppendUvarint(dst, t.ref(b.Job))
	dst = binary.AppendUvarint(dst, t.ref(b.Instance))
	dst = binary.AppendVarint(dst, b.Timestamp)
	dst = appendLabels(dst, t, b.TargetLabels)

	families := make([]string, 0, len(b.Metadata))
	for f := range b.Metadata {
		families = append(families, f)
	}
	sort.Strings(families)
	dst = binary.AppendUvarint(dst, uint64(len(families)))
	for _, f := range families {
		m := b.Metadata[f]
		dst = binary.AppendUvarint(dst, t.ref(f))
		dst = binary.AppendUvarint(dst, t.ref(m.Type))
		dst = binary.AppendUvarint(dst, t.ref(m.Help))
		dst = binary.AppendUvarint(dst, t.ref(m.Unit))
	}

	dst = binary.AppendUvarint(dst, uint64(len(b.Series)))
	for i := range b.Series {
		s := &b.Series[i]
		dst = appendLabels(dst, t, s.Labels)
		dst = binary.AppendUvarint(dst, uint64(len(s.Samples)))
		prev := b.Timestamp
		for _, smp := range s.Samples {
			dst = binary.AppendVarint(dst, smp.T-prev)
			prev = smp.T
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(smp.V))
		}
		if extras {
			dst = appendExtras(dst, t, s, b.Timestamp)
		}
	}
	return dst
}

func appendLabels(dst []byte, t *strtab, ls labels.Labels) []byte {
	dst = binary.AppendUvarint(dst, uint64(ls.Len()))
	pos := 0
	ls.Range(func(l labels.Label) {
		dst = binary.AppendUvarint(dst, t.refAt(pos, l.Name))
		dst = binary.AppendUvarint(dst, t.refAt(pos+1, l.Value))
		pos += 2
	})
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
