package federate

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// A scrape target's series come in the same order scrape after scrape,
// each with the same label set (the cloud's rebuild keeps a steady
// series' label set from scrape to scrape): a source remembers the entry
// of each series of the target's last scrape by its position, so that the
// next scrape finds its series without hashing their labels and looking
// them up in the tenant's map of every series, whose size makes each
// lookup a cache miss. An entry is taken from the source only when it is
// still in the map and its label set equals the series' (the same string,
// most often, which compares at once); otherwise the series is looked up
// as without a source. A source is dropped with the series, when it was
// not updated within MaxAge.
type source struct {
	ents []*entry
	seen int64 // wall clock of the last update, Unix ns
}

// sourceKey names a scrape target of a site.
type sourceKey struct{ site, job, instance string }

// source returns the source of b's target of site, nil for a batch that
// is not a scrape. The caller holds tn.mu.
func (tn *tenant) source(site string, b *relay.Batch, now int64) *source {
	if !b.Scrape {
		return nil
	}
	k := sourceKey{site, b.Job, b.Instance}
	src := tn.sources[k]
	if src == nil {
		src = &source{}
		tn.sources[k] = src
	}
	src.seen = now
	if n := len(b.Series); len(src.ents) > n {
		clear(src.ents[n:])
		src.ents = src.ents[:n]
	}
	return src
}

// at returns the entry of the series at position i, when the source holds
// one still served for label set ls; nil otherwise.
func (src *source) at(i int, ls labels.Labels) *entry {
	if src == nil || i >= len(src.ents) {
		return nil
	}
	if e := src.ents[i]; e != nil && !e.gone && labels.Equal(e.lset, ls) {
		return e
	}
	return nil
}

// set records e (nil: none) as the entry of the series at position i.
func (src *source) set(i int, e *entry) {
	if src == nil {
		return
	}
	if i >= len(src.ents) {
		if e == nil {
			return
		}
		src.ents = append(src.ents, make([]*entry, i+1-len(src.ents))...)
	}
	src.ents[i] = e
}
