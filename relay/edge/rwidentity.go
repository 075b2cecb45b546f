package edge

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// maxMergedSeries bounds the label sets a mergedIdentity keeps; past it the
// memory starts over.
const maxMergedSeries = 1 << 18

// mergedIdentity adds the identity labels to the series of batches that are
// not scrapes (remote_write) as addIdentity does, remembering each series'
// result by its label set: a sender's series arrive with every request, and
// the remote_write decoder hands over the very same label sets each time,
// so a known series costs a map lookup instead of a new label set. Safe for
// concurrent use.
//
// With label implementations other than stringlabels it merges every
// series, as addIdentity does.
type mergedIdentity struct {
	mu     sync.Mutex
	extra  *labels.Labels           // the identity labels merged; another starts over
	merged map[string]labels.Labels // by the series' label set (idOf)
	es     []labels.Label
	sb     labels.ScratchBuilder
}

// add sets the identity labels *extra on every series of b.
func (m *mergedIdentity) add(b *relay.Batch, extra *labels.Labels) {
	if !labelsAsIDs {
		addIdentity(b, *extra)
		return
	}
	if len(b.Series) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.extra != extra || m.merged == nil || len(m.merged) >= maxMergedSeries {
		m.extra, m.merged = extra, make(map[string]labels.Labels)
		m.es = deltaconv.LabelSlice(m.es[:0], *extra)
	}
	for i := range b.Series {
		sr := &b.Series[i]
		id := idOf(sr.Labels)
		ls, ok := m.merged[id]
		if !ok {
			ls = deltaconv.MergeInto(&m.sb, sr.Labels, m.es)
			m.merged[id] = ls
		}
		sr.Labels = ls
	}
}
