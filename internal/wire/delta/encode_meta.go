package delta

import (
	"encoding/binary"
	"slices"
	"strings"
)

// A frame's metadata: sorted by family, and sent as the difference from what
// the target's previous frame carried.

// sortMeta copies ms into e.meta sorted by Family, first of duplicates kept.
func (e *Encoder) sortMeta(ms []Meta) {
	e.meta = append(e.meta[:0], ms...)
	slices.SortStableFunc(e.meta, cmpMeta)
	e.meta = slices.CompactFunc(e.meta, sameFamily)
}

func cmpMeta(a, b Meta) int     { return strings.Compare(a.Family, b.Family) }
func sameFamily(a, b Meta) bool { return a.Family == b.Family }

// appendMetaDiff writes the families added or changed since the target's
// last frame, then the families gone, and updates the target's metadata.
func (e *Encoder) appendMetaDiff(dst []byte, t *encTarget, ms []Meta) []byte {
	e.sortMeta(ms)
	if slices.Equal(e.meta, t.meta) {
		return append(dst, 0, 0)
	}
	// Upserts: in new, absent or different in old.
	n := 0
	for i, j := 0, 0; i < len(e.meta); i++ {
		for j < len(t.meta) && t.meta[j].Family < e.meta[i].Family {
			j++
		}
		if j == len(t.meta) || t.meta[j] != e.meta[i] {
			n++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for i, j := 0, 0; i < len(e.meta); i++ {
		for j < len(t.meta) && t.meta[j].Family < e.meta[i].Family {
			j++
		}
		if j == len(t.meta) || t.meta[j] != e.meta[i] {
			dst = appendMeta(dst, &e.meta[i])
		}
	}
	// Deletes: in old, not in new.
	n = 0
	for i, j := 0, 0; i < len(t.meta); i++ {
		for j < len(e.meta) && e.meta[j].Family < t.meta[i].Family {
			j++
		}
		if j == len(e.meta) || e.meta[j].Family != t.meta[i].Family {
			n++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for i, j := 0, 0; i < len(t.meta); i++ {
		for j < len(e.meta) && e.meta[j].Family < t.meta[i].Family {
			j++
		}
		if j == len(e.meta) || e.meta[j].Family != t.meta[i].Family {
			dst = appendString(dst, t.meta[i].Family)
		}
	}
	t.meta = append(t.meta[:0], e.meta...)
	return dst
}

func appendMeta(dst []byte, m *Meta) []byte {
	dst = appendString(dst, m.Family)
	dst = appendString(dst, m.Type)
	dst = appendString(dst, m.Help)
	return appendString(dst, m.Unit)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
