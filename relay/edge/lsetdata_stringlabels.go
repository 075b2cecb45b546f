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
	tmp labels.Labels
}

// build returns the label set in sb.
func (a *labelArena) build(sb *labels.ScratchBuilder) labels.Labels {
	sb.Overwrite(&a.tmp) // a.tmp now aliases sb's own buffer
	data := idOf(a.tmp)
	if data == "" {
		return labels.EmptyLabels()
	}
	if cap(a.buf)-len(a.buf) < len(data) {
		a.buf = make([]byte, 0, max(arenaChunk, len(data)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, data...)
	return labelsOf(unsafe.String(&a.buf[start], len(data)))
}
