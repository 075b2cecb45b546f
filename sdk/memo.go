package sdk

import "strings"

// Memo remembers the results of an expensive pure function of a string
// (a regex match, a keyed hash) inside a plugin. Label values repeat across
// series (instance, job, metric names), so this saves most of the work of
// a new series. It holds at most Max entries (0 means 4096) and forgets
// everything when full. Keys are copied, so aliased label strings are safe.
type Memo[V any] struct {
	Max int
	m   map[string]V
}

// Get returns the value remembered for key, or computes, stores and returns it.
func (c *Memo[V]) Get(key string, compute func(string) V) V {
	if v, ok := c.m[key]; ok {
		return v
	}
	v := compute(key)
	limit := c.Max
	if limit <= 0 {
		limit = 4096
	}
	if c.m == nil || len(c.m) >= limit {
		c.m = make(map[string]V)
	}
	c.m[strings.Clone(key)] = v
	return v
}
