package deltaconv

import (
	"fmt"
	"math"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// A Rebuilder turns the scrapes one delta.Decoder rebuilds into scrape
// batches, as BatchOf does, and keeps each series' label set from scrape
// to scrape by the series' ID, so a steady series' labels are parsed once
// per generation's dictionary entry, not once per sample, and every batch
// of a series shares one label set in memory. A cached label set is used
// only while the series' key is the one it was parsed from.
//
// Its memory follows the decoder's: one entry per series in a target's
// dictionary. Drop the Rebuilder with its decoder. Not safe for concurrent
// use.
type Rebuilder struct {
	set     labels.Label // set on every series; Name "" for none
	targets map[string]*targetLabels
	sb      labels.ScratchBuilder
	// dec, when set (ShareWith), is given the keys of the label sets
	// parsed in a Batch that it can hold inside them: shareIDs and
	// shareKeys.
	dec       *delta.Decoder
	shareIDs  []uint32
	shareKeys []string
}

type targetLabels struct {
	attrs  string
	tl     labels.Labels
	series []cachedLabels // by delta.Series.ID
}

type cachedLabels struct {
	key string // the delta key ls was parsed from
	ls  labels.Labels
}

// NewRebuilder returns a Rebuilder that sets label name to value on every
// series it rebuilds (replacing the series' own), as the cloud sets the
// tenant label; an empty name sets nothing.
func NewRebuilder(name, value string) *Rebuilder {
	return &Rebuilder{set: labels.Label{Name: name, Value: value}, targets: map[string]*targetLabels{}}
}

// BatchOf turns a scrape rebuilt by a delta.Decoder back into a scrape
// batch. Errors (label sets that do not parse) wrap block.ErrCorrupt.
func BatchOf(s *delta.Scrape) (*relay.Batch, error) {
	return NewRebuilder("", "").Batch(s)
}

// Arrays hold the series and the float samples of a batch BatchInto
// made; the next BatchInto given the same Arrays reuses them, so the
// caller passes them again only once nothing reads that batch any more.
// The zero value is ready to use.
type Arrays struct {
	series  []relay.Series
	samples []relay.Sample
}

// take returns a's arrays sized for n series, the series zeroed, growing
// them when they are too small.
func (a *Arrays) take(n int) ([]relay.Series, []relay.Sample) {
	if cap(a.series) < n || cap(a.samples) < n {
		a.series, a.samples = make([]relay.Series, n), make([]relay.Sample, n)
	}
	series := a.series[:n]
	clear(series)
	return series, a.samples[:n]
}

// Batch turns scrape s, just rebuilt by the Rebuilder's decoder, into a
// scrape batch: BatchOf with the Rebuilder's label set on every series.
// The float samples of the batch share one allocation. Errors (label sets
// that do not parse) wrap block.ErrCorrupt, and leave the cache as it was
// for the series before the damage.
func (rb *Rebuilder) Batch(s *delta.Scrape) (*relay.Batch, error) {
	return rb.BatchInto(s, &Arrays{})
}

// BatchInto is Batch with the batch's series and float samples in a's
// arrays (see Arrays). Label sets, histograms, exemplars and metadata are
// never in them: what reads the batch may keep those.
func (rb *Rebuilder) BatchInto(s *delta.Scrape, a *Arrays) (*relay.Batch, error) {
	rb.shareIDs, rb.shareKeys = rb.shareIDs[:0], rb.shareKeys[:0]
	tc := rb.targets[s.Target]
	if tc == nil {
		tc = &targetLabels{}
		rb.targets[s.Target] = tc
	}
	series, samples := a.take(len(s.Series))
	b := &relay.Batch{Scrape: true, Timestamp: s.Timestamp, Series: series}
	b.Job, b.Instance = delta.SplitTarget(s.Target)
	if tc.attrs != s.Attrs {
		tl, err := rb.parse(s.Attrs, false)
		if err != nil {
			return nil, err
		}
		tc.attrs, tc.tl = s.Attrs, tl
	}
	b.TargetLabels = tc.tl
	maxID := -1
	xi := 0
	for i := range s.Series {
		sr := &s.Series[i]
		data := ""
		if s.Data != nil {
			data = s.Data[i]
		}
		ls, err := rb.labelsOf(tc, sr, data)
		if err != nil {
			return nil, err
		}
		maxID = max(maxID, int(sr.ID))
		out := &b.Series[i]
		out.Labels = ls
		var x *delta.Extra
		if xi < len(s.Extras) && s.Extras[xi].Series == i {
			x = &s.Extras[xi]
			xi++
		}
		if x == nil {
			samples[i] = relay.Sample{T: sr.T, V: math.Float64frombits(sr.V)}
			out.Samples = samples[i : i+1 : i+1]
			continue
		}
		if err := fromDelta(sr, x, out, func(key string) (labels.Labels, error) { return rb.parse(key, false) }); err != nil {
			return nil, err
		}
	}
	// A new generation's dictionary may be shorter: what is past it goes.
	tc.series = clipCache(tc.series, maxID+1)
	if len(rb.shareIDs) > 0 {
		rb.dec.ShareKeys(s.Target, rb.shareIDs, rb.shareKeys)
		clear(rb.shareKeys)
	}
	if len(s.Metadata) > 0 {
		b.Metadata = make(map[string]relay.Metadata, len(s.Metadata))
		for _, m := range s.Metadata {
			b.Metadata[m.Family] = relay.Metadata{Type: m.Type, Help: m.Help, Unit: m.Unit}
		}
	}
	return b, nil
}

// labelsOf returns the label set of sr: the one the decoder holds for it
// (data, see ShareWith), or the cache's, parsing and caching it when the
// entry of sr.ID holds another key (or none).
func (rb *Rebuilder) labelsOf(tc *targetLabels, sr *delta.Series, data string) (labels.Labels, error) {
	id := int(sr.ID)
	if data != "" && rb.dec != nil {
		if id < len(tc.series) && tc.series[id].key != "" {
			tc.series[id] = cachedLabels{} // the decoder holds it now
		}
		return dataLabels(data), nil
	}
	if id < len(tc.series) && tc.series[id].key == sr.Labels {
		return tc.series[id].ls, nil
	}
	ls, err := rb.parse(sr.Labels, true)
	if err != nil {
		return labels.EmptyLabels(), err
	}
	if rb.dec != nil && sr.Labels != "" {
		if d, ok := labelsData(ls); ok && strings.HasPrefix(d, sr.Labels) {
			// The decoder keeps it (ShareKeys, once the batch is
			// made) and gives it back with each scrape: not cached.
			rb.shareIDs = append(rb.shareIDs, sr.ID)
			rb.shareKeys = append(rb.shareKeys, d)
			return ls, nil
		}
	}
	if id >= len(tc.series) {
		tc.series = append(tc.series, make([]cachedLabels, id+1-len(tc.series))...)
	}
	tc.series[id] = cachedLabels{key: sr.Labels, ls: ls}
	return ls, nil
}

// ShareWith makes the Rebuilder give dec, the decoder whose scrapes it
// rebuilds, the rebuilt label set of each series that begins with the
// series' key (Decoder.ShareKeys), and take it back from the decoder's
// scrapes (delta.Scrape.Data) instead of caching it: with Prometheus'
// default label set, one string, whose labels are encoded as canonical
// keys are when names and values are shorter than 128 bytes, a series
// whose labels all sort before the label the Rebuilder sets (the tenant)
// is then held once in memory, by the decoder and every output that keeps
// its batches' label sets.
func (rb *Rebuilder) ShareWith(dec *delta.Decoder) { rb.dec = dec }

// clipCache cuts c to n entries, releasing the memory of a much larger
// array.
func clipCache(c []cachedLabels, n int) []cachedLabels {
	if len(c) <= n {
		return c
	}
	clear(c[n:])
	if cap(c) > 2*n+64 {
		return append([]cachedLabels(nil), c[:n]...)
	}
	return c[:n]
}

// parse turns a canonical label set into labels, with the Rebuilder's
// label set when set says so.
func (rb *Rebuilder) parse(key string, set bool) (labels.Labels, error) {
	set = set && rb.set.Name != ""
	rb.sb.Reset()
	if err := delta.RangeLabels(key, func(n, v string) {
		if !set || n != rb.set.Name {
			rb.sb.Add(n, v)
		}
	}); err != nil {
		return labels.EmptyLabels(), fmt.Errorf("%w: %v", block.ErrCorrupt, err)
	}
	if set && rb.set.Value != "" {
		rb.sb.Add(rb.set.Name, rb.set.Value)
	}
	rb.sb.Sort()
	return rb.sb.Labels(), nil
}
