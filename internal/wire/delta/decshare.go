package delta

import (
	"strings"
	"sync"
)

// What a Decoder holds per series is its base (decSlot), and nothing it
// needs only while a frame is applied: the scratch of an incremental
// frame is shared by every decoder of the process (scratchPool), the
// index of a target's label sets is built when a frame adds series, and a
// caller that keeps an equal copy of a series' label set can give it to
// the decoder (ShareKeys) so that the two hold one.

// decScratch is the scratch of one Apply.
type decScratch struct {
	recID []uint32
	recT  []int64
	recV  []uint64
	recTr []trend
	xs    []extra
}

var scratchPool = sync.Pool{New: func() any { return new(decScratch) }}

// takeScratch gives d a scratch for one Apply.
func (d *Decoder) takeScratch() {
	sc := scratchPool.Get().(*decScratch)
	d.sc = sc
	d.recID, d.recT, d.recV, d.recTr, d.xs = sc.recID[:0], sc.recT[:0], sc.recV[:0], sc.recTr[:0], sc.xs[:0]
}

// releaseScratch returns d's scratch for other decoders' Apply.
func (d *Decoder) releaseScratch() {
	clear(d.xs) // they point at histograms and exemplars of the frame
	sc := d.sc
	sc.recID, sc.recT, sc.recV, sc.recTr, sc.xs = d.recID[:0], d.recT[:0], d.recV[:0], d.recTr[:0], d.xs[:0]
	d.sc, d.recID, d.recT, d.recV, d.recTr, d.xs = nil, nil, nil, nil, nil, nil
	scratchPool.Put(sc)
}

// indexed returns st's index of label sets, building it when st has none.
func (st *decTarget) indexed() map[string]uint32 {
	if st.index == nil {
		st.index = make(map[string]uint32, len(st.slots))
		for i := range st.slots {
			st.index[st.slots[i].key()] = uint32(i)
		}
	}
	return st.index
}

// key returns the slot's label set.
func (sl *decSlot) key() string {
	if sl.klen > 0 {
		return sl.data[:sl.klen]
	}
	return sl.data
}

// ShareKeys gives the decoder, for the series ids[i] of target's base, a
// string held by the caller that begins with the series' label set,
// data[i], which the decoder keeps instead of its own copy: the label set
// is then held once, and the decoder's scrapes return data[i] in
// Scrape.Data. A series whose label set data[i] does not begin with (or
// an empty one, an id out of range, a target without a base) is left as
// it is.
func (d *Decoder) ShareKeys(target string, ids []uint32, data []string) {
	st := d.targets[target]
	if st == nil {
		return
	}
	for i, id := range ids {
		if int(id) >= len(st.slots) {
			continue
		}
		sl := &st.slots[id]
		key := sl.key()
		if key == "" || len(key) > 1<<30 || !strings.HasPrefix(data[i], key) {
			continue
		}
		shared := data[i][:len(key)]
		if st.index != nil {
			// A map keeps the key it was given first: the old copy
			// would stay alive through it.
			delete(st.index, key)
			st.index[shared] = id
		}
		sl.data, sl.klen = data[i], int32(len(key))
	}
}
