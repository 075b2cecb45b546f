package edge

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// seriesKeys keeps, per target, the delta key of every series of its last
// scrape (its label set in canonical form with the identity labels merged
// in, as deltaconv.ScrapeOf builds it), by position: a target exposes its
// series in the same order scrape after scrape, with the same label sets
// (Prometheus' scrape cache hands the appender the very same ones), so a
// steady scrape builds no key at all. The encoder keeps these strings as
// its dictionary's keys (delta.Scrape.StableLabels): a series' key is held
// once, not once by the encoder and once more in a per-scrape buffer.
//
// Owned by the commit loop, like deltaEncoder.
type seriesKeys struct {
	targets map[string]*targetKeys // by delta target key
	extra   []labels.Label         // identity labels, sorted by name
}

// targetKeys are the label sets of a target's last scrape and their keys.
type targetKeys struct {
	in   []labels.Labels
	keys []string
	gen  uint64 // encoder generation of the last scrape
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

// scrapeOf fills s with scrape batch b as deltaconv.ScrapeOf does, taking the
// keys from the target's last scrape where its label sets are the same. It
// reports false for a batch that is not a plain float scrape (a series
// without exactly one float sample, a histogram, an exemplar): the caller
// then uses deltaconv.ScrapeOf.
func (k *seriesKeys) scrapeOf(b *relay.Batch, s *delta.Scrape, gen uint64) bool {
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
	t.gen = gen
	var attrs []byte
	b.TargetLabels.Range(func(l labels.Label) { attrs = delta.AppendLabel(attrs, l.Name, l.Value) })
	*s = delta.Scrape{
		Target:       target,
		Timestamp:    b.Timestamp,
		Attrs:        string(attrs),
		Series:       s.Series[:0],
		Extras:       s.Extras[:0],
		Metadata:     s.Metadata[:0],
		StableLabels: true,
	}
	n := len(b.Series)
	if len(t.in) > n {
		clear(t.in[n:]) // keep no label set of series gone
		clear(t.keys[n:])
		t.in, t.keys = t.in[:n], t.keys[:n]
	}
	var buf []byte
	for i := range b.Series {
		sr := &b.Series[i]
		if i < len(t.in) && labels.Equal(t.in[i], sr.Labels) {
			s.Series = append(s.Series, delta.Series{Labels: t.keys[i], T: sr.Samples[0].T, V: math.Float64bits(sr.Samples[0].V)})
			continue
		}
		buf = deltaconv.AppendMerged(buf[:0], sr.Labels, k.extra)
		key := string(buf)
		if i < len(t.in) {
			t.in[i], t.keys[i] = sr.Labels, key
		} else {
			t.in, t.keys = append(t.in, sr.Labels), append(t.keys, key)
		}
		s.Series = append(s.Series, delta.Series{Labels: key, T: sr.Samples[0].T, V: math.Float64bits(sr.Samples[0].V)})
	}
	for family, m := range b.Metadata {
		s.Metadata = append(s.Metadata, delta.Meta{Family: family, Type: m.Type, Help: m.Help, Unit: m.Unit})
	}
	return true
}

// scrapeOf fills d.scratch with b: from the kept keys for a plain float
// scrape, otherwise with deltaconv.ScrapeOf.
func (d *deltaEncoder) scrapeOf(b *relay.Batch) bool {
	if d.keysOf.scrapeOf(b, &d.scratch, d.enc.Generation()) {
		return true
	}
	return deltaconv.ScrapeOf(b, &d.scratch, d.extra, &d.keys)
}
