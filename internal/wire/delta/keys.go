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

// Dictionary is a target's series dictionary as its last frame left it,
// for a caller that compares its next scrape with it.
type Dictionary struct{ t *encTarget }

// Dictionary returns target's dictionary if its last frame was given
// Scrape.Keys (its series are identity strings), the zero Dictionary,
// which holds nothing, otherwise. It is valid until the next AppendFrame
// or Checkpoint.
func (e *Encoder) Dictionary(target string) Dictionary {
	if t := e.targets[target]; t != nil && t.keyed {
		return Dictionary{t}
	}
	return Dictionary{}
}

// Holds reports whether the series at position i of the dictionary (the
// order of first appearance in the generation) is labels.
func (d Dictionary) Holds(i int, labels string) bool {
	return d.t != nil && i < len(d.t.slots) && d.t.slots[i].labels == labels
}
