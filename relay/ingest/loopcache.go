package ingest

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// loopSeries is one label set a target's scrapes produce, as the edge's own
// scrape loop keeps it between scrapes: the label set itself (after target
// labels and metric_relabel_configs), its staleness state and its slot
// in the batch being built; byRef finds it by its label set's hash (the
// series' ref, as Prometheus' scrape cache keeps a storage ref) while
// series are being added. The
// struct and its entry fit 64 bytes. Two exposed series that come out of
// relabelling with the same label set share one loopSeries, as they share
// a ref in Prometheus.
type loopSeries struct {
	lset labels.Labels
	// gen is the batch generation in which idx is the series' index in
	// the batch's Series; any other value means "not in this batch".
	// The cache numbers its batches (seriesCache.nextGen), so a series
	// whose cache moves to a new loop on reload never meets its old
	// number.
	gen uint32
	// tracked is 1 + the cache iteration in which the series was last
	// seen for staleness (0: never); prev and cur list it by iteration.
	tracked uint32
	idx     int32
	users   int32 // cache entries pointing here
}

// loopEntry is the cache entry of one exposed series, keyed by its bytes
// as the parser returns them (name and labels as the target wrote them).
// s is nil for a series metric_relabel_configs dropped.
type loopEntry struct {
	key      string // the map's key
	s        *loopSeries
	lastIter uint32
	pos      int32      // where the last scrape that saw it had it, in seriesCache.order
	own      loopSeries // s points here unless the label set is shared
}

// loopMeta is what the cache keeps of a metric family's TYPE, HELP and
// UNIT, as Prometheus' scrape cache keeps it: across scrapes, dropped ten
// scrapes after it was last seen.
type loopMeta struct {
	name     string // the family's
	md       relay.Metadata
	lastIter uint32
}

// seriesCache is one target's scrape cache. It follows Prometheus' scrape
// cache entry for entry — an iteration counter, entries keyed by the
// series' bytes, dropped series remembered, entries not seen in a
// successful scrape flushed, a forced flush when failing scrapes keep
// adding entries — but tracks staleness in two lists of series instead of
// two maps, and skips the flush walk when every entry was seen. Owned by
// one target loop; not safe for concurrent use.
//
// A target exposes its series in the same order scrape after scrape, so
// the cache keeps the order of the last successful scrape and first
// compares an exposed series with the one that came next then: a steady
// scrape finds every entry without hashing its bytes.
type seriesCache struct {
	iter    uint32
	gen     uint32 // the last batch generation (nextGen)
	seen    int    // entries touched in this iteration
	okCount int    // entries and metadata after the last successful scrape

	// entries holds every entry by key. It is nil after a successful
	// scrape that found every series in order and added none: a steady
	// target keeps no map of its entries (index rebuilds it from order
	// and side when a scrape leaves the order or adds a series).
	entries map[string]*loopEntry
	side    map[string]*loopEntry // the entries a scrape does not expose (report series)
	n       int                   // entries, with or without the map
	keep    bool                  // the maps stay (a report series is an exposed one)
	// byRef is nil after a successful scrape that added no series: a
	// steady target keeps no map of its series by ref (refs rebuilds it
	// for the next new series).
	byRef map[uint64]*loopSeries
	adds  int // series added in this iteration
	meta  map[string]*loopMeta

	prev, cur []*loopSeries // tracked for staleness in the last and this iteration

	order []*loopEntry // exposed series of the last successful scrape, in order
	next  []*loopEntry // this scrape's, so far
	pos   int          // where in order the next exposed series is expected

	// While a scrape repeats the last one, next and cur stay empty: nrec
	// and ntr count the entries of order and series of prev it repeated
	// so far (-1: next and cur hold this scrape's), and after a steady
	// scrape neither keeps memory of its own.
	nrec, ntr int
}

func newSeriesCache() *seriesCache {
	return &seriesCache{
		entries: map[string]*loopEntry{},
		side:    map[string]*loopEntry{},
		byRef:   map[uint64]*loopSeries{},
		meta:    map[string]*loopMeta{},
	}
}

// get returns the entry for met, marking it seen in this iteration, and
// whether it had been seen in this iteration already.
func (c *seriesCache) get(met []byte) (*loopEntry, bool) {
	e := c.side[string(met)]
	if e == nil {
		if e = c.index()[string(met)]; e == nil {
			return nil, false
		}
		c.keep = true
	}
	return e, c.touch(e)
}

// lookup is get for a series the scrape exposes: it tries the one that
// came next in the last scrape first, and records the scrape's order.
func (c *seriesCache) lookup(met []byte) (*loopEntry, bool) {
	var e *loopEntry
	if c.pos < len(c.order) && c.order[c.pos].key == string(met) {
		e = c.order[c.pos]
		c.pos++
	} else if e = c.index()[string(met)]; e == nil {
		return nil, false
	} else {
		c.pos = int(e.pos) + 1 // back in step if the order went on from there
	}
	already := c.touch(e)
	if !already {
		c.record(e)
	}
	return e, already
}

// touch marks e seen in this iteration and reports whether it was already.
func (c *seriesCache) touch(e *loopEntry) bool {
	if e.lastIter == c.iter {
		return true
	}
	e.lastIter = c.iter
	c.seen++
	return false
}

func (c *seriesCache) record(e *loopEntry) {
	if c.nrec >= 0 {
		if c.nrec < len(c.order) && c.order[c.nrec] == e {
			e.pos = int32(c.nrec)
			c.nrec++
			return
		}
		c.next = append(c.next[:0], c.order[:c.nrec]...)
		c.nrec = -1
	}
	e.pos = int32(len(c.next))
	c.next = append(c.next, e)
}

// series returns the series for lset: the one already cached under the
// same ref and labels, or a new one, not yet in the cache (add puts it
// there).
func (c *seriesCache) series(lset labels.Labels) *loopSeries {
	if s := c.refs()[lset.Hash()]; s != nil && labels.Equal(s.lset, lset) {
		return s
	}
	return &loopSeries{lset: lset}
}

// nextGen numbers the next batch of the cache's target. Should the
// number wrap around, every series forgets its slot first, so that none
// meets its old number again.
func (c *seriesCache) nextGen() uint32 {
	c.gen++
	if c.gen == 0 {
		for _, e := range c.index() {
			if e.s != nil {
				e.s.gen = 0
			}
		}
		for _, s := range c.prev {
			s.gen = 0
		}
		for _, s := range c.cur {
			s.gen = 0
		}
		c.gen = 1
	}
	return c.gen
}

// add caches met as s's exposed series, seen in this iteration; scraped
// says it is in the scrape's order (a report series is not).
func (c *seriesCache) add(met []byte, s *loopSeries, scraped bool) *loopEntry {
	e := &loopEntry{key: string(met), lastIter: c.iter}
	c.adds++
	if s.users == 0 {
		if ref, byRef := s.lset.Hash(), c.refs(); byRef[ref] == nil {
			// A new series: it lives in its first entry.
			e.own = *s
			s = &e.own
			byRef[ref] = s
		}
	}
	s.users++
	e.s = s
	c.put(e, scraped)
	return e
}

// addDropped remembers that metric relabelling dropped met.
func (c *seriesCache) addDropped(met []byte) {
	c.put(&loopEntry{key: string(met), lastIter: c.iter}, true)
}

func (c *seriesCache) put(e *loopEntry, scraped bool) {
	entries := c.index()
	if old := entries[e.key]; old != nil {
		c.release(old) // never in practice: callers add only what get missed
		if old.lastIter == c.iter {
			c.seen--
		}
		delete(c.side, e.key)
		c.n--
	}
	entries[e.key] = e
	c.n++
	c.seen++
	if scraped {
		c.record(e)
	} else {
		c.side[e.key] = e
	}
}

func (c *seriesCache) release(e *loopEntry) {
	s := e.s
	if s == nil {
		return
	}
	s.users--
	if s.users == 0 && c.byRef != nil {
		if ref := s.lset.Hash(); c.byRef[ref] == s {
			delete(c.byRef, ref)
		}
	}
}

// track marks s as exposed in this iteration, for staleness.
func (c *seriesCache) track(s *loopSeries) {
	if s.tracked == c.iter+1 {
		return
	}
	s.tracked = c.iter + 1
	if c.ntr >= 0 {
		if c.ntr < len(c.prev) && c.prev[c.ntr] == s {
			c.ntr++
			return
		}
		c.cur = append(c.cur[:0], c.prev[:c.ntr]...)
		c.ntr = -1
	}
	c.cur = append(c.cur, s)
}

// forEachStale calls f for each series tracked in the last iteration but
// not in this one, until f returns false.
func (c *seriesCache) forEachStale(f func(*loopSeries) bool) {
	for _, s := range c.prev {
		if s.tracked != c.iter+1 && !f(s) {
			return
		}
	}
}

// setMeta returns the family's metadata entry, seen in this iteration.
func (c *seriesCache) setMeta(family []byte) *loopMeta {
	m := c.meta[string(family)]
	if m == nil {
		m = &loopMeta{name: string(family), md: relay.Metadata{Type: "unknown"}}
		c.meta[string(family)] = m
	}
	m.lastIter = c.iter
	return m
}

// iterDone ends an iteration as Prometheus' scrape cache does: after a
// successful scrape (flush) entries not seen in it are forgotten; after a
// failed one only if the cache more than doubled since the last success.
func (c *seriesCache) iterDone(flush bool) {
	count := c.n + len(c.meta)
	switch {
	case flush:
		c.okCount = count
	case count > c.okCount*2+1000:
		flush = true
	}
	if flush {
		if c.seen < c.n {
			entries := c.index()
			for k, e := range entries {
				if e.lastIter != c.iter {
					c.release(e)
					delete(entries, k)
					delete(c.side, k)
					c.n--
				}
			}
		}
		for k, m := range c.meta {
			if c.iter-m.lastIter > 10 {
				delete(c.meta, k)
			}
		}
	}
	if flush {
		// Every entry of this scrape is still cached: its order is the
		// next scrape's guess. Otherwise the last success's still is.
		c.order, c.next = roll(c.order, c.next, c.nrec)
		if c.adds == 0 && !c.keep {
			c.byRef = nil
			c.dropIndex()
		}
	}
	c.adds = 0
	clear(c.next)
	c.next, c.pos = c.next[:0], 0
	c.prev, c.cur = roll(c.prev, c.cur, c.ntr)
	c.nrec, c.ntr = c.steady(), c.steady()
	c.iter++
	c.seen = 0
}
