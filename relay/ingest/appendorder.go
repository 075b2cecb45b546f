package ingest

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// order lets an appender find a scrape's series without its index map.
//
// A target exposes its series in the same order scrape after scrape, and
// Prometheus' scrape cache hands the appender the same ref for each. While a
// scrape's refs are, position by position, those of the target's last
// scrape, and that scrape had no ref twice, this one has none twice either:
// every Append is a series of its own. At the first Append that departs
// from the last scrape's order the index map is built from the series so
// far, and the appender goes on with it. Used only when the sink lets the
// appender keep its memory (appendable.reuse), where the last order is kept.
type order struct {
	last    []storage.SeriesRef // the refs of the last scrape's Appends, in order
	lastDup bool                // a ref came twice in it, for one label set or two
	refs    []storage.SeriesRef // this scrape's, so far
	dup     bool
	fast    bool // every Append so far matched last
}

// indexOf returns the index of the series with ref and labels ls, adding
// it if new.
func (ap *appender) indexOf(ref storage.SeriesRef, ls labels.Labels) int32 {
	if !ap.a.reuse {
		return ap.seriesIndex(ref, ls)
	}
	o := &ap.ord
	n := len(o.refs)
	o.refs = append(o.refs, ref)
	if o.fast && n < len(o.last) && o.last[n] == ref {
		return ap.newSeries(ls)
	}
	if o.fast {
		o.fast = false
		// Every Append so far was a series of its own, in Append order.
		if ap.index == nil {
			ap.index = make(map[storage.SeriesRef]int32, len(o.last))
		}
		for j, r := range o.refs[:n] {
			ap.index[r] = int32(j)
		}
	}
	return ap.seriesIndex(ref, ls)
}

// nextOrder returns the order the target's next scrape starts from, reusing
// the memory of this one's.
func (o *order) nextOrder() order {
	return order{last: o.refs, lastDup: o.dup, refs: o.last[:0], fast: !o.dup && len(o.refs) > 0}
}
