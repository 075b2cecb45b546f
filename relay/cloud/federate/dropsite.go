package federate

// DropSite removes every series of tenant whose site label is site, at
// once rather than after MaxAge: the cloud calls it when another cloud of
// its cluster has taken the site over, so that the site's series are
// served by one cloud only. It returns the number of series dropped.
func (s *Store) DropSite(tenant, site string) int {
	s.mu.RLock()
	tn := s.tenants[tenant]
	s.mu.RUnlock()
	if tn == nil {
		return 0
	}
	dropped := 0
	tn.mu.Lock()
	for h, e := range tn.series {
		var prev *entry
		for e != nil {
			next := e.next
			if e.lset.Get("site") == site {
				tn.unlink(h, prev, e)
				dropped++
			} else {
				prev = e
			}
			e = next
		}
	}
	for k := range tn.sources {
		if k.site == site {
			delete(tn.sources, k)
		}
	}
	tn.mu.Unlock()
	s.series.Add(int64(-dropped))
	return dropped
}
