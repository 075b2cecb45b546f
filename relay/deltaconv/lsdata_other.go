//go:build slicelabels || dedupelabels

package deltaconv

import "github.com/prometheus/prometheus/model/labels"

// labelsData: with these label implementations a label set is not one
// string, so nothing is shared with the decoder.
func labelsData(labels.Labels) (string, bool) { return "", false }

// dataLabels is never called: labelsData shares nothing.
func dataLabels(string) labels.Labels { panic("BUG: shared label set data without stringlabels") }
