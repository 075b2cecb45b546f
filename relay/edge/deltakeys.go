package edge

import (
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// seriesKeys finds, per target, the label sets of its last scrape by
// position: a target exposes its series in the same order scrape after
// scrape, with the same label sets (the scrape cache hands over the very
// same ones), so a steady scrape builds no key at all.
//
// With Prometheus' default stringlabels (labelsAsIDs) the delta encoder
// keeps each label set's own string as the series' identity and asks
// seriesKeys for its key (its label set in canonical form with the
// identity labels merged in, as deltaconv.ScrapeOf builds it) only when
// it sends the key: a series' labels are held once, by the scrape cache,
// not once more as a key. That needs the merge to keep distinct label
// sets distinct, so a scrape with a series carrying an identity label's
// name goes through deltaconv.ScrapeOf instead; a label set is checked
// for that when it is not where the encoder's dictionary has it
// (delta.Encoder.Dictionary), so nothing is kept here per series.
// Otherwise the keys are built and kept here, and the encoder keeps these
// strings as its dictionary's keys (delta.Scrape.StableLabels).
//
// Owned by the commit loop, like deltaEncoder.
type seriesKeys struct {
	targets map[string]*targetKeys // by delta target key
	extra   []labels.Label         // identity labels, sorted by name
}

// targetKeys are, without labelsAsIDs, the label sets of a target's last
// scrape and their keys. With labelsAsIDs the encoder's dictionary holds
// the label sets: checked says every label set in it was checked against
// the identity labels (merges).
type targetKeys struct {
	in      []labels.Labels
	keys    []string
	gen     uint64 // encoder generation of the last scrape
	checked bool
}

func newSeriesKeys(extra labels.Labels) *seriesKeys {
	k := &seriesKeys{targets: make(map[string]*targetKeys)}
	extra.Range(func(l labels.Label) { k.extra = append(k.extra, l) })
	return k
}

// forget drops the keys of targets not scraped in generation gen, as
// delta.Encoder.Checkpoint forgets their bases.
func (k *seriesKeys) forget(gen uint64) {
	for name, t := range k.targets {
		if t.gen != gen {
			delete(k.targets, name)
		}
	}
}

// AppendKey appends the key of the label set whose string is id
// (delta.KeyWriter, with labelsAsIDs).
func (k *seriesKeys) AppendKey(dst []byte, id string) []byte {
	return deltaconv.AppendMerged(dst, labelsOf(id), k.extra)
}

// merges reports whether ls has a label an identity label would replace
// or yield to: its key might then be another label set's too.
func (k *seriesKeys) merges(ls labels.Labels) bool {
	for _, l := range k.extra {
		if ls.Has(l.Name) {
			return true
		}
	}
	return false
}

// scrapeOf fills s with scrape batch b as deltaconv.ScrapeOf does, taking the
// keys from the target's last scrape where its label sets are the same. It
// reports false for a batch that is not a plain float scrape (a series
// without exactly one float sample, a histogram, an exemplar), and with
// labelsAsIDs for one with a series that has an identity label's name: the
// caller then uses deltaconv.ScrapeOf.
func (k *seriesKeys) scrapeOf(b *relay.Batch, s *delta.Scrape, enc *delta.Encoder) bool {
	if !b.Scrape {
		return false
	}
	for i := range b.Series {
		sr := &b.Series[i]
		if len(sr.Samples) != 1 || len(sr.Histograms) > 0 || len(sr.Exemplars) > 0 {
			return false
		}
	}
	target := delta.TargetKey(b.Job, b.Instance)
	t := k.targets[target]
	if t == nil {
		t = &targetKeys{}
		k.targets[target] = t
	}
	t.gen = enc.Generation()
	var attrs []byte
	b.TargetLabels.Range(func(l labels.Label) { attrs = delta.AppendLabel(attrs, l.Name, l.Value) })
	*s = delta.Scrape{
		Target:       target,
		Timestamp:    b.Timestamp,
		Attrs:        string(attrs),
		Series:       slices.Grow(s.Series[:0], len(b.Series)), // exactly, not by append's steps
		Extras:       s.Extras[:0],
		Metadata:     s.Metadata[:0],
		StableLabels: true,
	}
	if labelsAsIDs {
		s.Keys = k
		if !t.ids(k, b, s, enc) {
			return false
		}
	} else {
		t.keysOf(k, b, s)
	}
	for family, m := range b.Metadata {
		s.Metadata = append(s.Metadata, delta.Meta{Family: family, Type: m.Type, Help: m.Help, Unit: m.Unit})
	}
	return true
}

// ids gives s b's label sets' own strings as series identities
// (labelsAsIDs). A label set the encoder's dictionary holds at the same
// position was checked when it came; any other is checked now: it reports
// false for one with an identity label's name.
func (t *targetKeys) ids(k *seriesKeys, b *relay.Batch, s *delta.Scrape, enc *delta.Encoder) bool {
	var dict delta.Dictionary
	if t.checked {
		dict = enc.Dictionary(s.Target)
	}
	for i := range b.Series {
		sr := &b.Series[i]
		id := idOf(sr.Labels)
		if !dict.Holds(i, id) && k.merges(sr.Labels) {
			t.checked = false
			return false
		}
		s.Series = append(s.Series, delta.Series{Labels: id, T: sr.Samples[0].T, V: math.Float64bits(sr.Samples[0].V)})
	}
	t.checked = true
	return true
}

// keysOf gives s b's keys, built for the label sets not at the same
// position in the target's last scrape (without labelsAsIDs).
func (t *targetKeys) keysOf(k *seriesKeys, b *relay.Batch, s *delta.Scrape) {
	n := len(b.Series)
	if len(t.in) > n {
		clear(t.in[n:]) // keep no label set of series gone
		t.in = t.in[:n]
		clear(t.keys[n:])
		t.keys = t.keys[:n]
	}
	var buf []byte
	for i := range b.Series {
		sr := &b.Series[i]
		if i >= len(t.in) || !labels.Equal(t.in[i], sr.Labels) {
			buf = deltaconv.AppendMerged(buf[:0], sr.Labels, k.extra)
			t.set(i, sr.Labels, string(buf))
		}
		s.Series = append(s.Series, delta.Series{Labels: t.keys[i], T: sr.Samples[0].T, V: math.Float64bits(sr.Samples[0].V)})
	}
}

// set records ls and its key at position i.
func (t *targetKeys) set(i int, ls labels.Labels, key string) {
	if i < len(t.in) {
		t.in[i] = ls
	} else {
		t.in = append(t.in, ls)
	}
	if i < len(t.keys) {
		t.keys[i] = key
	} else {
		t.keys = append(t.keys, key)
	}
}

// scrapeOf fills d.scratch with b: from the kept keys for a plain float
// scrape, otherwise with deltaconv.ScrapeOf.
func (d *deltaEncoder) scrapeOf(b *relay.Batch) bool {
	if d.keysOf.scrapeOf(b, &d.scratch, d.enc) {
		return true
	}
	return deltaconv.ScrapeOf(b, &d.scratch, d.extra, &d.keys)
}
