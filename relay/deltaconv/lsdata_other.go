//go:build slicelabels || dedupelabels

package deltaconv

import "github.com/prometheus/prometheus/model/labels"

// labelsData: with these label implementations a label set is not one
// string, so nothing is shared with the decoder.
func labelsData(labels.Labels) (string, bool) { return "", false }
