package ingest

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Bounds of the remote_write series cache: a generation of the cache
// takes at most rwCacheMax series or lasts rwCacheAge, then becomes the
// old one; a series neither generation holds is decoded again.
const (
	rwCacheMax = 1 << 18
	rwCacheAge = 10 * time.Minute
)

// rwSeriesCache remembers the label sets of remote_write 1.0 series by the
// bytes their labels arrive as, so that a sender's series, which arrive
// with the same label bytes request after request, are validated, sorted
// and built into a label set once, not with every sample: a known series
// costs a hash of its label bytes and a comparison of them with the label
// set held.
//
// An entry is only made for labels that arrive sorted, each a name and a
// non-empty value in the encoding Prometheus writes, with nothing else
// between them: those bytes decode to exactly the label set held, which
// the comparison checks byte by byte (a hash collision is a miss, never a
// wrong label set). Keys are hashed with a seed drawn at start, so a
// sender cannot make series collide on purpose.
//
// Two generations bound its memory: at rwCacheMax series, or after
// rwCacheAge, the current generation becomes the old one and the old one
// is dropped; a hit in the old generation moves the series to the
// current one. Safe for concurrent use: a request reads under a read lock
// and adds what it missed afterwards (rwSeriesCache.add).
type rwSeriesCache struct {
	seed maphash.Seed
	now  func() time.Time

	mu      sync.RWMutex
	cur     map[uint64]labels.Labels
	old     map[uint64]labels.Labels
	started time.Time
}

func newRWSeriesCache(now func() time.Time) *rwSeriesCache {
	return &rwSeriesCache{seed: maphash.MakeSeed(), now: now, cur: make(map[uint64]labels.Labels), started: now()}
}

// cacheMiss is a series a request decoded without the cache.
type cacheMiss struct {
	key uint64
	ls  labels.Labels
}

// hash is the key of label bytes raw.
func (c *rwSeriesCache) hash(raw []byte) uint64 { return maphash.Bytes(c.seed, raw) }

// get returns the label set held for key whose label bytes are
// body[lo:hi], if the bytes are those of that label set. The caller holds
// the read lock.
func (c *rwSeriesCache) get(key uint64, body []byte, lo, hi int) (labels.Labels, bool) {
	ls, ok := c.cur[key]
	if !ok {
		if ls, ok = c.old[key]; !ok {
			return labels.EmptyLabels(), false
		}
	}
	if !sameLabels(body, lo, hi, ls) {
		return labels.EmptyLabels(), false
	}
	return ls, true
}

// add keeps what a request decoded without the cache, and moves series
// found only in the old generation (promote) to the current one.
func (c *rwSeriesCache) add(misses []cacheMiss, promote []cacheMiss) {
	if len(misses)+len(promote) == 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range [2][]cacheMiss{misses, promote} {
		for _, e := range m {
			if len(c.cur) >= rwCacheMax || now.Sub(c.started) >= rwCacheAge {
				c.old, c.cur, c.started = c.cur, make(map[uint64]labels.Labels, len(c.cur)), now
			}
			c.cur[e.key] = e.ls
		}
	}
}

// fromOld reports whether key is held by the old generation only.
func (c *rwSeriesCache) fromOld(key uint64) bool {
	_, ok := c.cur[key]
	return !ok
}

// labelPrefix returns the end of the label fields a TimeSeries message at
// body[lo:hi] starts with (lo when it starts with none).
func labelPrefix(body []byte, lo, hi int) int {
	p := lo
	for p+2 <= hi && body[p] == tagSeriesLabel && body[p+1] < 0x80 {
		end := p + 2 + int(body[p+1])
		if end > hi {
			break
		}
		p = end
	}
	return p
}

// tagSeriesLabel is the tag of a TimeSeries' label field.
const tagSeriesLabel = fSeriesLabels<<3 | 2

// sameLabels reports whether body[lo:hi] holds exactly the labels of ls,
// in order, each a label field of a name and a value with one-byte tags
// and lengths.
func sameLabels(body []byte, lo, hi int, ls labels.Labels) bool {
	p, ok := lo, true
	ls.Range(func(l labels.Label) {
		if !ok {
			return
		}
		if p+2 > hi || body[p] != tagSeriesLabel || body[p+1] >= 0x80 {
			ok = false
			return
		}
		end := p + 2 + int(body[p+1])
		nlo, nhi, nok := bytesField(body, p+2, end, tagLabelName)
		vlo, vhi, vok := bytesField(body, nhi, end, tagLabelValue)
		ok = nok && vok && vhi == end && string(body[nlo:nhi]) == l.Name && string(body[vlo:vhi]) == l.Value
		p = end
	})
	return ok && p == hi
}
