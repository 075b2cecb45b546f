//go:build slicelabels || dedupelabels

package edge

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// labelsAsIDs: with these label implementations a label set is not one
// string, so the delta encoder is given series keys built from them.
const labelsAsIDs = false

func idOf(labels.Labels) string { panic("idOf without stringlabels") }

func labelsOf(string) labels.Labels { panic("labelsOf without stringlabels") }

// labelArena builds each label set on its own with these label
// implementations.
type labelArena struct{}

func (a *labelArena) reset() {}

// merge returns Merge(ls, extra) (deltaconv.MergeScratch).
func (a *labelArena) merge(ls labels.Labels, extra []labels.Label) labels.Labels {
	var sb labels.ScratchBuilder
	deltaconv.MergeScratch(&sb, ls, extra)
	return sb.Labels()
}
