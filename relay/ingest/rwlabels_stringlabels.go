//go:build !slicelabels && !dedupelabels

package ingest

import (
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// labelChunk is the size of the chunks a labelArena builds label sets in:
// a few hundred series of a remote_write request.
const labelChunk = 64 << 10

// labelArena builds the label sets of one request one after another in
// shared chunks of memory, in the encoding of Prometheus' stringlabels (a
// size, one byte below 255, then the bytes, for every name and value), so
// that a request of thousands of series costs a few allocations for its
// label sets rather than one each. A label set keeps its whole chunk alive;
// the label sets of a request live and die together. Bytes once handed out
// are never written again.
type labelArena struct {
	buf []byte
}

// build returns the label set of the labels ls read from src, sorted by
// name, without empty values.
func (a *labelArena) build(src string, ls []span) labels.Labels {
	n := 0
	for _, l := range ls {
		nl, vl := l.nhi-l.nlo, l.vhi-l.vlo
		n += sizeLen(nl) + nl + sizeLen(vl) + vl
	}
	if n == 0 {
		return labels.EmptyLabels()
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(labelChunk, n))
	}
	start := len(a.buf)
	for _, l := range ls {
		a.buf = appendSized(a.buf, l.name(src))
		a.buf = appendSized(a.buf, l.value(src))
	}
	data := unsafe.String(&a.buf[start], n)
	return *(*labels.Labels)(unsafe.Pointer(&data))
}

func sizeLen(n int) int {
	if n < 255 {
		return 1
	}
	return 4
}

func appendSized(dst []byte, s string) []byte {
	if n := len(s); n < 255 {
		dst = append(dst, byte(n))
	} else {
		dst = append(dst, 255, byte(n), byte(n>>8), byte(n>>16))
	}
	return append(dst, s...)
}
