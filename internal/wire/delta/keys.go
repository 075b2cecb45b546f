package delta

import "encoding/binary"

// lookup finds key's slot through the dictionary, building it first if
// the target has none.
func (t *encTarget) lookup(key string) (uint32, bool) {
	if t.dict == nil {
		t.dict = make(map[string]uint32, len(t.slots))
		for i := range t.slots {
			t.dict[t.slots[i].labels] = uint32(i)
		}
	}
	id, ok := t.dict[key]
	return id, ok
}

// appendKey appends the series key of a slot's labels: the labels
// themselves, or the key s.Keys gives for them.
func (e *Encoder) appendKey(dst []byte, s *Scrape, labels string) []byte {
	if s.Keys == nil {
		return appendString(dst, labels)
	}
	e.kbuf = s.Keys.AppendKey(e.kbuf[:0], labels)
	dst = binary.AppendUvarint(dst, uint64(len(e.kbuf)))
	return append(dst, e.kbuf...)
}
