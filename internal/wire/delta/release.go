package delta

import "sync"

// scrapeArrays are the per-series arrays of a Scrape the decoder made,
// given back with Release for a later Apply of any Decoder.
type scrapeArrays struct {
	series []Series
	data   []string
}

var arraysPool = sync.Pool{New: func() any { return new(scrapeArrays) }}

// Release gives back the arrays of s's series (Series and Data), which a
// later Apply of any Decoder may reuse: a caller that turns each scrape
// into something of its own (a batch) calls it once done, sparing an
// allocation of about 40 bytes per series per scrape. Neither s nor
// anything read from its Series and Data slices may be used afterwards;
// the label sets, histograms and metadata are not reused and may be kept.
// Releasing is optional.
func Release(s *Scrape) {
	if s == nil || cap(s.Series) == 0 {
		return
	}
	a := arraysPool.Get().(*scrapeArrays)
	// Cleared, so that the pool does not keep label sets alive.
	a.series, a.data = clearAll(s.Series), clearAll(s.Data)
	s.Series, s.Data = nil, nil
	arraysPool.Put(a)
}

// clearAll zeroes every element up to the capacity of x and returns it
// empty.
func clearAll[T any](x []T) []T {
	clear(x[:cap(x)])
	return x[:0]
}

// takeArrays returns empty Series and Data arrays of capacity n or more,
// reused when a released scrape left large enough ones.
func takeArrays(n int) ([]Series, []string) {
	a := arraysPool.Get().(*scrapeArrays)
	series, data := a.series, a.data
	a.series, a.data = nil, nil
	arraysPool.Put(a)
	if cap(series) < n {
		series = make([]Series, 0, n)
	}
	if cap(data) < n {
		data = nil // made on first use, as before
	}
	return series, data
}
