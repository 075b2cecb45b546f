package ingest

import (
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/edgerelay/edgerelay/relay"
)

// loopReport are the report series every scrape ends with, in Prometheus'
// order, each with the metadata Prometheus gives it; the last
// extraReports only with extra_scrape_metrics. Their cache keys end in
// "\xff", which no exposed series can, as in Prometheus' scrape cache.
var loopReport = [...]struct {
	key  []byte
	name string
	md   relay.Metadata
}{
	{[]byte("up\xff"), "up", upMetadata},
	{[]byte("scrape_duration_seconds\xff"), "scrape_duration_seconds",
		relay.Metadata{Type: "gauge", Help: "Duration of the last scrape in seconds.", Unit: "seconds"}},
	{[]byte("scrape_samples_scraped\xff"), "scrape_samples_scraped",
		relay.Metadata{Type: "gauge", Help: "Number of samples last scraped.", Unit: "samples"}},
	{[]byte("scrape_samples_post_metric_relabeling\xff"), "scrape_samples_post_metric_relabeling",
		relay.Metadata{Type: "gauge", Help: "Number of samples remaining after metric relabeling was applied.", Unit: "samples"}},
	{[]byte("scrape_series_added\xff"), "scrape_series_added",
		relay.Metadata{Type: "gauge", Help: "Number of series in the last scrape.", Unit: "series"}},
	{[]byte("scrape_timeout_seconds\xff"), "scrape_timeout_seconds",
		relay.Metadata{Type: "gauge", Help: "The configured scrape timeout for a target.", Unit: "seconds"}},
	{[]byte("scrape_sample_limit\xff"), "scrape_sample_limit",
		relay.Metadata{Type: "gauge", Help: "The configured sample limit for a target. Returns zero if there is no limit configured.", Unit: "samples"}},
	{[]byte("scrape_body_size_bytes\xff"), "scrape_body_size_bytes",
		relay.Metadata{Type: "gauge", Help: "The uncompressed size of the last scrape response, if successful. Scrapes failing because body_size_limit is exceeded report -1, other scrape failures report 0.", Unit: "bytes"}},
}

// extraReports is how many of loopReport's series only
// extra_scrape_metrics adds.
const extraReports = 3

// reportValues are the values of loopReport's series, in its order.
type reportValues [len(loopReport)]float64

// staleReport marks every report series stale.
var staleReport = reportValues{staleNaN, staleNaN, staleNaN, staleNaN, staleNaN, staleNaN, staleNaN, staleNaN}

// upMetadata is the up series' metadata.
var upMetadata = relay.Metadata{Type: "gauge", Help: "Health of the scrape target. 1 means the target is healthy, 0 if the scrape failed.", Unit: "targets"}

// report appends the report series with values vs at t; the extra ones
// only with extra_scrape_metrics.
func (l *targetLoop) report(t int64, vs reportValues) {
	c := l.cache
	n := len(loopReport)
	if !l.opts.extraMetrics {
		n -= extraReports
	}
	for i, r := range loopReport[:n] {
		var s *loopSeries
		e, _ := c.get(r.key)
		if e != nil {
			s = e.s
		} else {
			l.lb.Reset(labels.EmptyLabels())
			l.lb.Set(model.MetricNameLabel, r.name)
			for _, tl := range l.tlabels {
				l.lb.Set(model.ExportedLabelPrefix+tl.Name, "") // the report series has none of its own
				l.lb.Set(tl.Name, tl.Value)
			}
			s = c.series(l.lb.Labels())
		}
		if i == 0 {
			l.batch.addUp(s, t, vs[i])
		} else {
			_ = l.batch.add(s, t, vs[i], nil, nil, nil, r.name, &loopReport[i].md)
		}
		if e == nil {
			c.add(r.key, s, false)
		}
	}
}

// mutate gives an exposed label set the target's labels (honor_labels
// deciding conflicts) and applies metric_relabel_configs, as Prometheus'
// scrape loop does; an empty result means "drop".
func (l *targetLoop) mutate(lset labels.Labels) labels.Labels {
	lb := l.lb
	lb.Reset(lset)
	if l.opts.honorLabels {
		for _, tl := range l.tlabels {
			if !lset.Has(tl.Name) {
				lb.Set(tl.Name, tl.Value)
			}
		}
	} else {
		l.clash = l.clash[:0]
		for _, tl := range l.tlabels {
			if v := lset.Get(tl.Name); v != "" {
				l.clash = append(l.clash, labels.Label{Name: tl.Name, Value: v})
			}
			lb.Set(tl.Name, tl.Value)
		}
		if len(l.clash) > 0 {
			l.renameClashes()
		}
	}
	if !relabel.ProcessBuilder(lb, l.opts.mrc...) {
		return labels.EmptyLabels()
	}
	return lb.Labels()
}

// renameClashes keeps an exposed label the target's label replaced as
// exported_<name> (prefixed again while that name is taken), shortest
// names first.
func (l *targetLoop) renameClashes() {
	slices.SortStableFunc(l.clash, func(a, b labels.Label) int { return len(a.Name) - len(b.Name) })
	for _, c := range l.clash {
		name := c.Name
		for {
			name = model.ExportedLabelPrefix + name
			if l.lb.Get(name) == "" {
				l.lb.Set(name, c.Value)
				break
			}
		}
	}
}
