package codec

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/sdk/delta"
)

// ScrapeOf fills s with scrape batch b in the delta codec's model, reusing
// s's slices: the target key from job and instance, the target labels as
// Attrs, every label set in canonical form. It reports false, leaving s
// unusable, when b is not a scrape or a series does not hold exactly one
// sample: such a batch is sent whole in Block.Batches.
func ScrapeOf(b *relay.Batch, s *delta.Scrape) bool {
	if !b.Scrape {
		return false
	}
	var key []byte
	key = appendCanonical(key, b.TargetLabels)
	*s = delta.Scrape{
		Target:    delta.TargetKey(b.Job, b.Instance),
		Timestamp: b.Timestamp,
		Attrs:     string(key),
		Series:    s.Series[:0],
		Metadata:  s.Metadata[:0],
	}
	for i := range b.Series {
		sr := &b.Series[i]
		if len(sr.Samples) != 1 {
			return false
		}
		key = appendCanonical(key[:0], sr.Labels)
		s.Series = append(s.Series, delta.Series{
			Labels: string(key), T: sr.Samples[0].T, V: math.Float64bits(sr.Samples[0].V),
		})
	}
	for family, m := range b.Metadata {
		s.Metadata = append(s.Metadata, delta.Meta{Family: family, Type: m.Type, Help: m.Help, Unit: m.Unit})
	}
	return true
}

func appendCanonical(dst []byte, ls labels.Labels) []byte {
	ls.Range(func(l labels.Label) { dst = delta.AppendLabel(dst, l.Name, l.Value) })
	return dst
}

// BatchOf turns a scrape rebuilt by a delta.Decoder back into a scrape
// batch. Errors (label sets that do not parse) wrap ErrCorrupt.
func BatchOf(s *delta.Scrape) (*relay.Batch, error) {
	b := &relay.Batch{Scrape: true, Timestamp: s.Timestamp, Series: make([]relay.Series, 0, len(s.Series))}
	b.Job, b.Instance = delta.SplitTarget(s.Target)
	var sb labels.ScratchBuilder
	parse := func(key string) (labels.Labels, error) {
		sb.Reset()
		if err := delta.RangeLabels(key, func(n, v string) { sb.Add(n, v) }); err != nil {
			return labels.EmptyLabels(), fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		sb.Sort()
		return sb.Labels(), nil
	}
	var err error
	if b.TargetLabels, err = parse(s.Attrs); err != nil {
		return nil, err
	}
	for _, sr := range s.Series {
		ls, err := parse(sr.Labels)
		if err != nil {
			return nil, err
		}
		b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: sr.T, V: math.Float64frombits(sr.V)}}})
	}
	if len(s.Metadata) > 0 {
		b.Metadata = make(map[string]relay.Metadata, len(s.Metadata))
		for _, m := range s.Metadata {
			b.Metadata[m.Family] = relay.Metadata{Type: m.Type, Help: m.Help, Unit: m.Unit}
		}
	}
	return b, nil
}
