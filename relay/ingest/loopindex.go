package ingest

// The scrape cache's maps and lists a steady target goes without.

// refs returns byRef, rebuilt from the entries if a steady scrape
// dropped it.
func (c *seriesCache) refs() map[uint64]*loopSeries {
	if c.byRef == nil {
		c.byRef = make(map[uint64]*loopSeries, c.n)
		for _, e := range c.index() {
			if s := e.s; s != nil {
				if ref := s.lset.Hash(); c.byRef[ref] == nil {
					c.byRef[ref] = s
				}
			}
		}
	}
	return c.byRef
}

// steady is where nrec and ntr start an iteration: 0, or -1 (next and
// cur filled as they always were) for a cache that keeps its maps.
func (c *seriesCache) steady() int {
	if c.keep {
		return -1
	}
	return 0
}

// index returns the map of entries, rebuilt from order and side if a
// steady scrape dropped it.
func (c *seriesCache) index() map[string]*loopEntry {
	if c.entries == nil {
		c.entries = make(map[string]*loopEntry, c.n)
		for _, e := range c.order {
			c.entries[e.key] = e
		}
		for k, e := range c.side {
			c.entries[k] = e
		}
	}
	return c.entries
}

// dropIndex drops the map of entries once order (the scrape just ended,
// in order) and side hold every entry, and no report series is an
// exposed one.
func (c *seriesCache) dropIndex() {
	if c.entries == nil {
		return
	}
	for _, e := range c.side {
		if int(e.pos) < len(c.order) && c.order[e.pos] == e {
			return // a report series the scrape exposed too
		}
	}
	if len(c.order)+len(c.side) == c.n {
		c.entries = nil
	}
}

// roll ends an iteration of a list kept by iteration: it returns the
// list of the iteration that ends, last's first n when the iteration
// repeated them (n >= 0; no spare is kept) or this, and the spare to fill
// in the next iteration.
func roll[T any](last, this []T, n int) (done, spare []T) {
	if n >= 0 {
		clear(last[n:])
		return last[:n], nil
	}
	clear(last)
	return this, last[:0]
}
