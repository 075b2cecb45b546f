//go:build !slicelabels && !dedupelabels

package deltaconv

import (
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
)

// labelsData returns the one string that holds ls (Prometheus' default
// stringlabels), and true.
func labelsData(ls labels.Labels) (string, bool) { return *(*string)(unsafe.Pointer(&ls)), true }

// dataLabels returns the label set labelsData returned data for.
func dataLabels(data string) labels.Labels { return *(*labels.Labels)(unsafe.Pointer(&data)) }
