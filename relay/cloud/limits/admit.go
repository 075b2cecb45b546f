package limits

import (
	"encoding/binary"
	"hash/maphash"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// logEvery is how often a refusal is logged per (tenant, site, reason).
const logEvery = int64(60e9)

// Admit removes from b, in place, every series the tenant's limits or the
// label checks refuse, and every family's metadata that is too long; it
// counts and logs what it removed and returns the number of samples
// refused. A series admitted is counted active for the series limit.
func (l *Limiter) Admit(tenantName, site string, b *relay.Batch) int {
	return l.AdmitMemo(tenantName, site, b, nil)
}

// AdmitMemo is Admit for a scrape of a target whose scrapes come in
// order, m remembering what was admitted of its last ones (see Memo); nil
// m is Admit.
func (l *Limiter) AdmitMemo(tenantName, site string, b *relay.Batch, m *Memo) int {
	lim := l.of(tenantName)
	tn := l.tenant(tenantName)
	now := l.now().UnixNano()
	tn.mu.Lock()
	defer tn.mu.Unlock()
	stamp := tn.gen<<32 | uint64(now/max(l.idle/4, 1))&(1<<32-1) | 1<<63
	if now-tn.swept > l.idle/4 {
		tn.swept = now
		cutoff := now - l.idle
		for h, seen := range tn.series {
			if seen < cutoff {
				delete(tn.series, h)
			}
		}
	}
	var refused map[string]int // reason → samples
	var example map[string]string
	kept := b.Series[:0]
	m.fit(len(b.Series))
	for i := range b.Series {
		sr := &b.Series[i]
		if m.admitted(i, sr.Labels, stamp) {
			kept = append(kept, *sr)
			continue
		}
		// An active series passed the checks when it became active (a
		// reload that may change the limits forgets them: Reloaded).
		tn.buf = encode(tn.buf[:0], sr.Labels)
		h := maphash.Bytes(l.seed, tn.buf)
		reason := ""
		if _, ok := tn.series[h]; ok {
			tn.series[h] = now
		} else if reason = check(sr.Labels, &lim); reason == "" {
			if len(tn.series) < lim.MaxSeries {
				tn.series[h] = now
			} else {
				reason = ReasonSeriesLimit
			}
		}
		if reason == "" {
			m.admit(i, len(b.Series), sr.Labels, stamp)
			kept = append(kept, *sr)
			continue
		}
		if refused == nil {
			refused, example = map[string]int{}, map[string]string{}
		}
		refused[reason] += len(sr.Samples) + len(sr.Histograms)
		if _, ok := example[reason]; !ok {
			example[reason] = clip(sr.Labels.String())
		}
	}
	clear(b.Series[len(kept):])
	b.Series = kept
	var metaRefused int
	for name, md := range b.Metadata {
		if len(name) > lim.MaxMetadataLength || len(md.Help) > lim.MaxMetadataLength || len(md.Unit) > lim.MaxMetadataLength || len(md.Type) > lim.MaxMetadataLength {
			delete(b.Metadata, name)
			metaRefused++
			if metaRefused == 1 {
				l.logRefusal(tn, tenantName, site, ReasonMetadataTooLong, now, "family", clip(name), "max_metadata_length", lim.MaxMetadataLength)
			}
		}
	}
	if metaRefused > 0 {
		l.refusedMetadata.WithLabelValues(tenantName, ReasonMetadataTooLong).Add(float64(metaRefused))
	}
	total := 0
	for reason, n := range refused {
		total += n
		l.refusedSamples.WithLabelValues(tenantName, reason).Add(float64(n))
		l.logRefusal(tn, tenantName, site, reason, now, "samples", n, "example", example[reason],
			"active_series", len(tn.series), "max_series", lim.MaxSeries)
	}
	return total
}

// logRefusal logs a refusal at most once per logEvery per (site, reason).
// The caller holds tn.mu.
func (l *Limiter) logRefusal(tn *tenant, tenantName, site, reason string, now int64, args ...any) {
	key := site + "\x00" + reason
	if now-tn.logged[key] < logEvery {
		return
	}
	if len(tn.logged) > 1000 {
		clear(tn.logged)
	}
	tn.logged[key] = now
	l.log.Warn("samples refused by a tenant limit: the edge's block is acknowledged, these are counted in edgerelay_cloud_refused_samples_total and written nowhere",
		append([]any{"tenant", tenantName, "site", site, "reason", reason}, args...)...)
}

// check returns why lset is refused, or "" when it passes: Prometheus'
// label validation under the UTF-8 scheme (the most permissive, so
// whatever an edge took under either scheme passes) and the label limits.
func check(lset labels.Labels, lim *config.Limits) string {
	if lset.Get(model.MetricNameLabel) == "" {
		return ReasonMissingName
	}
	n := lset.Len()
	if !lset.Has("tenant") {
		n++ // the cloud sets it
	}
	if n > lim.MaxLabelsPerSeries {
		return ReasonTooManyLabels
	}
	if _, dup := lset.HasDuplicateLabelNames(); dup {
		return ReasonDuplicateLabel
	}
	reason := ""
	lset.Range(func(lb labels.Label) {
		switch {
		case reason != "":
		case len(lb.Name) > lim.MaxLabelNameLength:
			reason = ReasonNameTooLong
		case len(lb.Value) > lim.MaxLabelValueLength:
			reason = ReasonValueTooLong
		case !model.UTF8Validation.IsValidLabelName(lb.Name):
			reason = ReasonInvalidName
		case !utf8.ValidString(lb.Value):
			reason = ReasonInvalidValue
		}
	})
	return reason
}

// encode appends lset to buf, each name and value prefixed by its length,
// so two label sets never encode alike (whatever labels' build tags).
func encode(buf []byte, lset labels.Labels) []byte {
	lset.Range(func(l labels.Label) {
		buf = binary.AppendUvarint(buf, uint64(len(l.Name)))
		buf = append(buf, l.Name...)
		buf = binary.AppendUvarint(buf, uint64(len(l.Value)))
		buf = append(buf, l.Value...)
	})
	return buf
}

// clip shortens s for a log line.
func clip(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + "..."
}
