package delta

import "encoding/binary"

// Series returns the number of series the decoder's bases hold, over all
// targets: what its memory grows with. The cloud bounds it per tenant.
func (d *Decoder) Series() int {
	n := 0
	for _, st := range d.targets {
		n += len(st.slots)
	}
	return n
}

// fullRest returns the bytes a full frame of t's slots takes after its
// metadata: the series keys, the extra section and the value streams
// staged in e (an upper bound for the counts' varints).
func (e *Encoder) fullRest(s *Scrape, t *encTarget) int {
	n := 5 * binary.MaxVarintLen64
	for i := range t.slots {
		k := len(t.slots[i].labels)
		if s.Keys != nil {
			e.kbuf = s.Keys.AppendKey(e.kbuf[:0], t.slots[i].labels)
			k = len(e.kbuf)
		}
		n += k + uvarintLen(uint64(k))
	}
	n += len(e.xbuf) + len(e.hdrs) + len(e.st.top) + len(e.st.ints) + len(e.st.xors) + len(e.st.ts)
	return n
}
