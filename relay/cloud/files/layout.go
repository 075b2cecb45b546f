package files

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// Job and instance names used for remote_write series that lack them.
const (
	DefaultJob      = "remote_write"
	DefaultInstance = "unknown"
)

// DefaultSite is the directory of batches whose site is empty.
const DefaultSite = "_nosite"

// maxComponent is the longest path component Sanitize returns, well under
// the 255 bytes file systems allow.
const maxComponent = 200

// Sanitize turns s into one safe path component: no separators, no NUL or
// control characters, no "..", no leading dot (names starting with a dot are
// the writer's own temporaries), valid UTF-8, never empty, at most 200
// bytes (longer names are cut and end in a hash of the whole name so they
// stay distinct).
func Sanitize(s string) string {
	orig := s
	s = strings.ToValidUTF8(s, "_")
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", "._")
	}
	if strings.HasPrefix(s, ".") {
		s = "_" + s[1:]
	}
	if s == "" {
		s = "_"
	}
	if len(s) > maxComponent {
		cut := maxComponent - 17
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		h := fnv.New64a()
		h.Write([]byte(orig))
		s = s[:cut] + "~" + strconv.FormatUint(h.Sum64(), 16)
	}
	return s
}

// siteDir is the directory of one site below the tenant's directory: the
// site sanitised, DefaultSite when empty.
func siteDir(site string) string {
	if site == "" {
		return DefaultSite
	}
	return Sanitize(site)
}

// targetDir is the directory of one target below the tenant's directory:
// "<instance with ':' as '_'>.<job>", sanitised as a whole.
func targetDir(job, instance string) string {
	return Sanitize(strings.ReplaceAll(instance, ":", "_") + "." + job)
}

// group is the part of a batch that goes into one scrape directory.
type group struct {
	job, instance string
	batch         *relay.Batch
	dts           int64
}

// split returns the groups of b: the whole batch for a scrape, one group per
// (job, instance) label pair, in sorted order, for remote_write.
func split(b *relay.Batch) []group {
	if b.Scrape {
		job, inst := b.Job, b.Instance
		if job == "" {
			job = DefaultJob
		}
		if inst == "" {
			inst = DefaultInstance
		}
		return []group{{job: job, instance: inst, batch: b, dts: b.Timestamp}}
	}
	type key struct{ job, instance string }
	byKey := map[key]*group{}
	var keys []key
	for i := range b.Series {
		s := &b.Series[i]
		k := key{s.Labels.Get("job"), s.Labels.Get("instance")}
		if k.job == "" {
			k.job = DefaultJob
		}
		if k.instance == "" {
			k.instance = DefaultInstance
		}
		g := byKey[k]
		if g == nil {
			g = &group{job: k.job, instance: k.instance, dts: minInt64, batch: &relay.Batch{
				Job: k.job, Instance: k.instance, Timestamp: b.Timestamp,
				TargetLabels: b.TargetLabels, Metadata: b.Metadata,
			}}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.batch.Series = append(g.batch.Series, *s)
		for _, smp := range s.Samples {
			g.dts = max(g.dts, smp.T)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].job != keys[j].job {
			return keys[i].job < keys[j].job
		}
		return keys[i].instance < keys[j].instance
	})
	out := make([]group, 0, len(keys))
	for _, k := range keys {
		g := byKey[k]
		if g.dts == minInt64 {
			g.dts = b.Timestamp
		}
		out = append(out, *g)
	}
	return out
}

const minInt64 = -1 << 63

// commonLabels returns the labels, other than the metric name, that every
// series of b carries with the same value.
func commonLabels(b *relay.Batch) []labels.Label {
	if len(b.Series) == 0 {
		return nil
	}
	var common []labels.Label
	b.Series[0].Labels.Range(func(l labels.Label) {
		if l.Name != labels.MetricName {
			common = append(common, l)
		}
	})
	for i := 1; i < len(b.Series) && len(common) > 0; i++ {
		lset := b.Series[i].Labels
		kept := common[:0]
		for _, l := range common {
			if lset.Get(l.Name) == l.Value {
				kept = append(kept, l)
			}
		}
		common = kept
	}
	return common
}
