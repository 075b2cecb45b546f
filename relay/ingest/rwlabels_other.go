//go:build slicelabels || dedupelabels

package ingest

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// labelArena builds each label set on its own with these label
// implementations, whose label sets hold the strings they were given: the
// decoder's alias the request body, so they are copied.
type labelArena struct {
	sb labels.ScratchBuilder
}

// build returns the label set of the labels ls read from src, sorted by
// name, without empty values.
func (a *labelArena) build(src string, ls []span) labels.Labels {
	a.sb.Reset()
	for _, l := range ls {
		a.sb.Add(strings.Clone(l.name(src)), strings.Clone(l.value(src)))
	}
	return a.sb.Labels()
}
