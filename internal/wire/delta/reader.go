package delta

import (
	"slices"
	"strings"

	"github.com/edgerelay/edgerelay/internal/wire"
)

// metaDiff reads upserts and deletes, each in ascending family order, and
// returns the resulting metadata: old itself when nothing changed, else a
// new slice (old is never modified).
func (r *reader) metaDiff(old []Meta) []Meta {
	nu := r.Count(4)
	var ups []Meta
	for i := 0; i < nu && r.Err == nil; i++ {
		m := r.meta()
		if i > 0 && m.Family <= ups[i-1].Family {
			r.Fail("metadata families out of order")
		}
		ups = append(ups, m)
	}
	nd := r.Count(1)
	if r.Err != nil || nu+nd == 0 {
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
	for i := 0; i < nd && r.Err == nil; i++ {
		f := r.Str()
		j, found := slices.BinarySearchFunc(out, f, cmpFamily)
		if !found || (i > 0 && f <= prev) {
			r.Fail("deleted family %q unknown or out of order", f)
			break
		}
		prev = f
		out = slices.Delete(out, j, j+1)
	}
	return out
}

func cmpFamily(m Meta, f string) int { return strings.Compare(m.Family, f) }

// reader reads frame and state bytes: wire.Reader, whose errors wrap
// ErrCorrupt, with the delta codec's own records.
type reader struct{ wire.Reader }

func newReader(buf []byte) reader { return reader{wire.NewReader(buf, ErrCorrupt)} }

func (r *reader) meta() Meta {
	return Meta{Family: r.Str(), Type: r.Str(), Help: r.Str(), Unit: r.Str()}
}
