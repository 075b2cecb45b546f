// Package deltaconv converts between relay's batches and the delta codec's
// scrapes (package internal/wire/delta): ScrapeOf on the edge, before a
// scrape is delta-encoded, and BatchOf (or a Rebuilder, which keeps label
// sets from scrape to scrape) on the cloud, after a frame is applied. Merge
// is how the edge's identity labels join a series' labels, the same whether
// a scrape travels as a frame or whole. The bytes themselves are
// internal/wire's.
//
// A KeyBuffer or a Rebuilder is not safe for concurrent use; the functions
// are.
package deltaconv

import (
	"math"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// ScrapeOf fills s with scrape batch b in the delta codec's model, reusing
// s's slices: the target key from job and instance, the target labels as
// Attrs, every label set in canonical form with the edge's identity labels
// merged in (see Merge). It reports false, leaving s unusable, when b is
// not a scrape or a series does not hold exactly one sample (a float or a
// native histogram; exemplars ride along): such a batch is sent whole in
// Block.Batches.
//
// The series keys are built in kb and alias its memory until the next
// call: a delta.Encoder copies what it keeps, so a steady scrape allocates
// nothing here.
func ScrapeOf(b *relay.Batch, s *delta.Scrape, extra labels.Labels, kb *KeyBuffer) bool {
	if !b.Scrape {
		return false
	}
	kb.reset(extra)
	*s = delta.Scrape{
		Target:    delta.TargetKey(b.Job, b.Instance),
		Timestamp: b.Timestamp,
		Attrs:     string(appendCanonical(nil, b.TargetLabels)),
		Series:    s.Series[:0],
		Extras:    s.Extras[:0],
		Metadata:  s.Metadata[:0],
	}
	for i := range b.Series {
		sr := &b.Series[i]
		if len(sr.Samples)+len(sr.Histograms) != 1 {
			return false
		}
		kb.add(sr.Labels)
	}
	keys := kb.keys()
	for i := range b.Series {
		sr := &b.Series[i]
		if len(sr.Samples) == 1 {
			smp := sr.Samples[0]
			s.Series = append(s.Series, delta.Series{Labels: keys[i], T: smp.T, V: math.Float64bits(smp.V)})
			if len(sr.Exemplars) > 0 {
				s.Extras = append(s.Extras, delta.Extra{Series: i, Exemplars: kb.xb.exemplars(sr.Exemplars)})
			}
			continue
		}
		hs := &sr.Histograms[0]
		s.Series = append(s.Series, delta.Series{Labels: keys[i], T: hs.T})
		s.Extras = append(s.Extras, delta.Extra{Series: i, H: kb.xb.histogram(hs), Exemplars: kb.xb.exemplars(sr.Exemplars)})
	}
	for family, m := range b.Metadata {
		s.Metadata = append(s.Metadata, delta.Meta{Family: family, Type: m.Type, Help: m.Help, Unit: m.Unit})
	}
	return true
}

// KeyBuffer holds the canonical keys of one scrape in one reused buffer.
// The zero value is ready; it is not safe for concurrent use.
type KeyBuffer struct {
	buf   []byte
	ends  []int
	strs  []string
	extra []labels.Label
	xb    extrasBuffer
}

func (kb *KeyBuffer) reset(extra labels.Labels) {
	kb.buf, kb.ends = kb.buf[:0], kb.ends[:0]
	kb.extra = kb.extra[:0]
	kb.xb.reset()
	extra.Range(func(l labels.Label) { kb.extra = append(kb.extra, l) })
}

func (kb *KeyBuffer) add(ls labels.Labels) {
	kb.buf = AppendMerged(kb.buf, ls, kb.extra)
	kb.ends = append(kb.ends, len(kb.buf))
}

// keys returns the keys added since reset, as strings aliasing the buffer
// (it is not written again before the next reset).
func (kb *KeyBuffer) keys() []string {
	kb.strs = kb.strs[:0]
	start := 0
	for _, end := range kb.ends {
		if end == start {
			kb.strs = append(kb.strs, "")
		} else {
			kb.strs = append(kb.strs, unsafe.String(&kb.buf[start], end-start))
		}
		start = end
	}
	return kb.strs
}

// Merge returns ls with the edge's identity labels extra: "site" replaces
// the series' own, every other extra label is added only where the series
// has none of that name. ScrapeOf merges the same way into canonical keys.
// A label of ls with an empty value is absent, as labels.Builder has it.
func Merge(ls, extra labels.Labels) labels.Labels {
	var sb labels.ScratchBuilder
	return MergeInto(&sb, ls, LabelSlice(nil, extra))
}

// LabelSlice appends the labels of ls to dst, in order.
func LabelSlice(dst []labels.Label, ls labels.Labels) []labels.Label {
	ls.Range(func(l labels.Label) { dst = append(dst, l) })
	return dst
}

// MergeInto is Merge with extra as a slice sorted by name, building the
// result in sb (reset first): a caller merging many series reuses sb and
// extra, so that a merge costs one allocation, the result's, and one pass
// over ls.
func MergeInto(sb *labels.ScratchBuilder, ls labels.Labels, extra []labels.Label) labels.Labels {
	MergeScratch(sb, ls, extra)
	return sb.Labels()
}

// MergeScratch leaves the labels of MergeInto in sb (reset first), in
// order, for the caller to build: a caller holding the memory of many
// label sets builds them there (labels.ScratchBuilder.Overwrite).
func MergeScratch(sb *labels.ScratchBuilder, ls labels.Labels, extra []labels.Label) {
	sb.Reset()
	j := 0
	ls.Range(func(l labels.Label) {
		for j < len(extra) && extra[j].Name < l.Name {
			if extra[j].Value != "" {
				sb.Add(extra[j].Name, extra[j].Value)
			}
			j++
		}
		if j < len(extra) && extra[j].Name == l.Name {
			e := extra[j]
			j++
			if l.Name == "site" || l.Value == "" {
				l = e
			}
		}
		if l.Value != "" {
			sb.Add(l.Name, l.Value)
		}
	})
	for ; j < len(extra); j++ {
		if extra[j].Value != "" {
			sb.Add(extra[j].Name, extra[j].Value)
		}
	}
}

// AppendMerged appends Merge(ls, extra) in canonical form, the delta key of
// the merged series: "site" replaces the series' own, every other extra label
// is added only where the series has none of that name; extra is sorted by
// name. The edge builds its kept keys with it (relay/edge/deltakeys.go).
func AppendMerged(dst []byte, ls labels.Labels, extra []labels.Label) []byte {
	j := 0
	ls.Range(func(l labels.Label) {
		for j < len(extra) && extra[j].Name < l.Name {
			dst = delta.AppendLabel(dst, extra[j].Name, extra[j].Value)
			j++
		}
		if j < len(extra) && extra[j].Name == l.Name {
			if l.Name == "site" || l.Value == "" {
				l = extra[j]
			}
			j++
		}
		if l.Value != "" {
			dst = delta.AppendLabel(dst, l.Name, l.Value)
		}
	})
	for ; j < len(extra); j++ {
		dst = delta.AppendLabel(dst, extra[j].Name, extra[j].Value)
	}
	return dst
}

func appendCanonical(dst []byte, ls labels.Labels) []byte {
	ls.Range(func(l labels.Label) { dst = delta.AppendLabel(dst, l.Name, l.Value) })
	return dst
}
