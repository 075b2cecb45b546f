//go:build !slicelabels && !dedupelabels

package edge

import (
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// labelsAsIDs: with Prometheus' default stringlabels a label set is one
// string, which serves as the series' identity in the delta encoder
// (delta.Scrape.Keys), shared with the scrape cache instead of copied.
const labelsAsIDs = true

// idOf returns the string that holds ls.
func idOf(ls labels.Labels) string { return *(*string)(unsafe.Pointer(&ls)) }

// labelsOf returns the label set idOf returned id for.
func labelsOf(id string) labels.Labels { return *(*labels.Labels)(unsafe.Pointer(&id)) }

// arenaChunk is the size of a labelArena's chunks: a few label sets of
// a remote_write request of 500 series.
const arenaChunk = 64 << 10

// labelArena builds label sets one after another in shared chunks of
// memory, so that the label sets of one batch cost a few allocations
// rather than one each. A label set keeps its whole chunk alive: use it
// for label sets that live and die together (a batch on its way to the
// queue). Bytes once handed out are never written again.
type labelArena struct {
	buf []byte
	// past counts the bytes of the chunks left behind since the last
	// reset, so that a reused arena gets one chunk large enough.
	past int
}

// reset makes a's memory available to later label sets: it is only for an
// arena none of whose label sets is referenced any more (submitIdentified).
// An arena that needed several chunks gets one of their total size.
func (a *labelArena) reset() {
	if a.past > 0 {
		a.buf = make([]byte, 0, a.past+cap(a.buf))
	}
	a.buf, a.past = a.buf[:0], 0
}

// merge returns Merge(ls, extra) (deltaconv.MergeScratch: extra sorted by
// name, site replacing the series' own, every other extra label added
// only where the series has none or an empty one, empty values dropped),
// built in the arena straight from ls' bytes: the labels ls keeps are
// copied as they are encoded, without decoding and encoding them again.
func (a *labelArena) merge(ls labels.Labels, extra []labels.Label) labels.Labels {
	data := idOf(ls)
	need := len(data)
	for _, e := range extra {
		need += len(e.Name) + len(e.Value) + 8
	}
	if cap(a.buf)-len(a.buf) < need {
		a.past += len(a.buf)
		a.buf = make([]byte, 0, max(arenaChunk, need))
	}
	start := len(a.buf)
	a.buf = appendMergedData(a.buf, data, extra)
	if len(a.buf) == start {
		return labels.EmptyLabels()
	}
	return labelsOf(unsafe.String(&a.buf[start], len(a.buf)-start))
}

// appendMergedData appends the encoding of Merge(data's labels, extra).
func appendMergedData(dst []byte, data string, extra []labels.Label) []byte {
	j := 0
	for i := 0; i < len(data); {
		start := i
		n, p := dataSize(data, i)
		name := data[p : p+n]
		n, p = dataSize(data, p+n)
		value := data[p : p+n]
		i = p + n
		for j < len(extra) && extra[j].Name < name {
			dst = appendDataLabel(dst, extra[j])
			j++
		}
		if j < len(extra) && extra[j].Name == name {
			e := extra[j]
			j++
			if name == "site" || value == "" {
				dst = appendDataLabel(dst, e)
				continue
			}
		}
		if value != "" {
			dst = append(dst, data[start:i]...)
		}
	}
	for ; j < len(extra); j++ {
		dst = appendDataLabel(dst, extra[j])
	}
	return dst
}

// dataSize reads a size of Prometheus' stringlabels encoding at data[i]:
// one byte below 255, else 255 and three bytes little-endian.
func dataSize(data string, i int) (size, next int) {
	if b := data[i]; b != 255 {
		return int(b), i + 1
	}
	return int(data[i+1]) | int(data[i+2])<<8 | int(data[i+3])<<16, i + 4
}

// appendDataLabel appends l in the stringlabels encoding; nothing for an
// empty value.
func appendDataLabel(dst []byte, l labels.Label) []byte {
	if l.Value == "" {
		return dst
	}
	for _, s := range [2]string{l.Name, l.Value} {
		if n := len(s); n < 255 {
			dst = append(dst, byte(n))
		} else {
			dst = append(dst, 255, byte(n), byte(n>>8), byte(n>>16))
		}
		dst = append(dst, s...)
	}
	return dst
}
