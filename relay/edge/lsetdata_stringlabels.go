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
