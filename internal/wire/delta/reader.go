package delta

import (
	"encoding/binary"
	"slices"
	"strings"
)

// metaDiff reads upserts and deletes, each in ascending family order, and
// returns the resulting metadata: old itself when nothing changed, else a
// new slice (old is never modified).
func (r *reader) metaDiff(old []Meta) []Meta {
	nu := r.count(4)
	var ups []Meta
	for i := 0; i < nu && r.err == nil; i++ {
		m := r.meta()
		if i > 0 && m.Family <= ups[i-1].Family {
			r.fail("metadata families out of order")
		}
		ups = append(ups, m)
	}
	nd := r.count(1)
	if r.err != nil || nu+nd == 0 {
		return old
	}
	out := slices.Clone(old)
	for _, m := range ups {
		if j, found := slices.BinarySearchFunc(out, m.Family, cmpFamily); found {
			out[j] = m
		} else {
			out = slices.Insert(out, j, m)
		}
	}
	prev := ""
	for i := 0; i < nd && r.err == nil; i++ {
		f := r.str()
		j, found := slices.BinarySearchFunc(out, f, cmpFamily)
		if !found || (i > 0 && f <= prev) {
			r.fail("deleted family %q unknown or out of order", f)
			break
		}
		prev = f
		out = slices.Delete(out, j, j+1)
	}
	return out
}

func cmpFamily(m Meta, f string) int { return strings.Compare(m.Family, f) }

// reader reads frame bytes; the first error sticks and empties the input.
type reader struct {
	buf []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = corruptf(format, args...)
	}
	r.buf = nil
}

func (r *reader) end() error {
	if r.err == nil && len(r.buf) != 0 {
		r.fail("%d trailing bytes", len(r.buf))
	}
	return r.err
}

func (r *reader) byte() byte {
	if len(r.buf) == 0 {
		r.fail("truncated")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.fail("truncated varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.buf)
	if n <= 0 {
		r.fail("truncated varint")
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

// count reads an element count, each element taking at least minSize bytes.
func (r *reader) count(minSize int) int {
	v := r.uvarint()
	if v > uint64(len(r.buf)/minSize) {
		r.fail("count %d exceeds remaining input", v)
		return 0
	}
	return int(v)
}

// bytes returns the next n bytes of input.
func (r *reader) bytes(n int) []byte {
	if n > len(r.buf) {
		r.fail("section of %d bytes exceeds remaining input", n)
		return nil
	}
	b := r.buf[:n]
	r.buf = r.buf[n:]
	return b
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.buf)) {
		r.fail("string length %d exceeds remaining input", n)
		return ""
	}
	s := string(r.buf[:n])
	r.buf = r.buf[n:]
	return s
}

func (r *reader) meta() Meta {
	return Meta{Family: r.str(), Type: r.str(), Help: r.str(), Unit: r.str()}
}
