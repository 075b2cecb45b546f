package ingest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// maxAheadTime is how far ahead of now a sample's timestamp may be; the
// scrape loop drops later ones (out of bounds).
const maxAheadTime = 10 * time.Minute

// appendParsed is the scrape loop's append (Prometheus' scrape package,
// scrapeLoopAppenderV2.append) for one scrape without a target or history.
func appendParsed(p textparse.Parser, app storage.AppenderV2, defTime int64, cfg *scrapeconf.ScrapeConfig) error {
	a := &parsedAppend{
		p: p, app: app, cfg: cfg, defTime: defTime,
		maxT:    time.Now().Add(maxAheadTime).UnixMilli(),
		meta:    map[string]*metadata.Metadata{},
		seen:    map[string]bool{},
		dropped: map[string]bool{},
		lb:      labels.NewBuilder(labels.EmptyLabels()),
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if a.metadataEntry(et) {
			continue
		}
		if err := a.appendEntry(et); err != nil {
			return err
		}
	}
}

// parsedAppend is appendParsed's state over one scrape's entries.
type parsedAppend struct {
	p             textparse.Parser
	app           storage.AppenderV2
	cfg           *scrapeconf.ScrapeConfig
	defTime, maxT int64

	meta       map[string]*metadata.Metadata
	lastMeta   *metadata.Metadata // the family whose metadata came last
	lastMFName string
	seen       map[string]bool // series appended in this scrape, by their text
	dropped    map[string]bool // series dropped by metric_relabel_configs
	exemplars  []exemplar.Exemplar
	lset       labels.Labels
	lb         *labels.Builder
	added      int
}

// metadataEntry records a TYPE, HELP or UNIT entry and reports whether et
// was one of them or a comment, which carry no sample.
func (a *parsedAppend) metadataEntry(et textparse.Entry) bool {
	switch et {
	case textparse.EntryType:
		name, t := a.p.Type()
		a.setMeta(name, func(m *metadata.Metadata) { m.Type = t })
	case textparse.EntryHelp:
		name, help := a.p.Help()
		a.setMeta(name, func(m *metadata.Metadata) { m.Help = string(help) })
	case textparse.EntryUnit:
		name, unit := a.p.Unit()
		a.setMeta(name, func(m *metadata.Metadata) { m.Unit = string(unit) })
	case textparse.EntryComment:
	default:
		return false
	}
	return true
}

func (a *parsedAppend) setMeta(name []byte, set func(*metadata.Metadata)) {
	m, ok := a.meta[string(name)]
	if !ok {
		m = &metadata.Metadata{Type: model.MetricTypeUnknown}
		a.meta[string(name)] = m
	}
	set(m)
	a.lastMFName, a.lastMeta = string(name), m
}

// appendEntry appends the sample or histogram entry the parser is at, or
// skips it as the scrape loop does (dropped by relabelling, a duplicate,
// too far ahead).
func (a *parsedAppend) appendEntry(et textparse.Entry) error {
	var (
		met             []byte
		parsedTimestamp *int64
		v               float64
		h               *histogram.Histogram
		fh              *histogram.FloatHistogram
	)
	if et == textparse.EntryHistogram {
		met, parsedTimestamp, h, fh = a.p.Histogram()
	} else {
		met, parsedTimestamp, v = a.p.Series()
	}
	if !a.cfg.HonorTimestamps {
		parsedTimestamp = nil
	}
	t := a.defTime
	if parsedTimestamp != nil {
		t = *parsedTimestamp
	}
	lset, keep, err := a.seriesLabels(met)
	if err != nil || !keep {
		return err
	}
	if a.seen[string(met)] && parsedTimestamp == nil {
		return nil // a duplicate sample for the timestamp
	}
	if t > a.maxT {
		return nil // out of bounds
	}
	a.seen[string(met)] = true
	var opts storage.AppendV2Options
	if ex := a.readExemplars(t, h != nil || fh != nil); len(ex) > 0 {
		opts.Exemplars = ex
	}
	if a.lastMeta != nil && !isSeriesPartOfFamily(lset.Get(model.MetricNameLabel), a.lastMFName, a.lastMeta.Type) {
		a.lastMeta = nil
	}
	if a.lastMeta != nil {
		opts.MetricFamilyName, opts.Metadata = a.lastMFName, *a.lastMeta
	}
	a.added++
	if a.cfg.SampleLimit > 0 && a.added > int(a.cfg.SampleLimit) {
		return fmt.Errorf("sample_limit exceeded: limit %d", a.cfg.SampleLimit)
	}
	_, err = a.app.Append(0, lset, 0, t, v, h, fh, opts)
	return err
}

// seriesLabels returns the label set of the series met after
// metric_relabel_configs, and whether to keep it; an error for a label set
// the scrape fails on (no name, invalid names, over a label limit).
func (a *parsedAppend) seriesLabels(met []byte) (labels.Labels, bool, error) {
	if a.dropped[string(met)] {
		return labels.EmptyLabels(), false, nil
	}
	a.p.Labels(&a.lset)
	a.lb.Reset(a.lset)
	if !relabel.ProcessBuilder(a.lb, a.cfg.MetricRelabelConfigs...) {
		a.dropped[string(met)] = true
		return labels.EmptyLabels(), false, nil
	}
	a.lset = a.lb.Labels() // empty label values are gone here, as in a scrape
	if a.lset.IsEmpty() {
		a.dropped[string(met)] = true
		return labels.EmptyLabels(), false, nil
	}
	if !a.lset.Has(model.MetricNameLabel) {
		return labels.EmptyLabels(), false, fmt.Errorf("missing metric name (%s label)", model.MetricNameLabel)
	}
	if !a.lset.IsValid(a.cfg.MetricNameValidationScheme) {
		return labels.EmptyLabels(), false, fmt.Errorf("invalid metric name or label names: %s", a.lset.String())
	}
	if err := checkLabelLimits(a.lset, a.cfg); err != nil {
		return labels.EmptyLabels(), false, err
	}
	return a.lset, true, nil
}

// readExemplars returns the entry's exemplars, sorted, those without a
// timestamp given the sample's time t; a histogram's exemplars without a
// timestamp are dropped, as the scrape loop drops them. The slice is
// reused by the next entry.
func (a *parsedAppend) readExemplars(t int64, isHist bool) []exemplar.Exemplar {
	var e exemplar.Exemplar
	a.exemplars = readExemplars(a.p, a.exemplars[:0], &e, t, isHist)
	return a.exemplars
}

// readExemplars appends the exemplars of the entry p is at to buf, as the
// scrape loop reads them, and sorts them; e is scratch space.
func readExemplars(p textparse.Parser, buf []exemplar.Exemplar, e *exemplar.Exemplar, t int64, isHist bool) []exemplar.Exemplar {
	*e = exemplar.Exemplar{}
	for p.Exemplar(e) {
		if !e.HasTs {
			if isHist {
				*e = exemplar.Exemplar{}
				continue
			}
			e.Ts = t
		}
		buf = append(buf, *e)
		*e = exemplar.Exemplar{}
	}
	if len(buf) > 1 {
		slices.SortFunc(buf, exemplar.Compare)
	}
	return buf
}

// checkLabelLimits is the scrape loop's label_limit,
// label_name_length_limit and label_value_length_limit.
func checkLabelLimits(lset labels.Labels, cfg *scrapeconf.ScrapeConfig) error {
	met := lset.Get(model.MetricNameLabel)
	if n := int(cfg.LabelLimit); n > 0 && lset.Len() > n {
		return fmt.Errorf("label_limit exceeded (metric: %.50s, number of labels: %d, limit: %d)", met, lset.Len(), n)
	}
	var err error
	lset.Range(func(l labels.Label) {
		if n := int(cfg.LabelNameLengthLimit); err == nil && n > 0 && len(l.Name) > n {
			err = fmt.Errorf("label_name_length_limit exceeded (metric: %.50s, label name: %.50s, length: %d, limit: %d)", met, l.Name, len(l.Name), n)
		}
		if n := int(cfg.LabelValueLengthLimit); err == nil && n > 0 && len(l.Value) > n {
			err = fmt.Errorf("label_value_length_limit exceeded (metric: %.50s, label name: %.50s, value: %.50q, length: %d, limit: %d)", met, l.Name, l.Value, len(l.Value), n)
		}
	})
	return err
}

// isSeriesPartOfFamily is the scrape loop's test of whether a series named
// name belongs to the family whose metadata was given last.
func isSeriesPartOfFamily(name, family string, typ model.MetricType) bool {
	if !strings.HasPrefix(name, family) {
		return false
	}
	got := name
	cut := func(suffixes ...string) {
		for _, s := range suffixes {
			if g, ok := strings.CutSuffix(name, s); ok {
				got = g
				return
			}
		}
	}
	switch typ {
	case model.MetricTypeCounter:
		family, _ = strings.CutSuffix(family, "_total")
		cut("_total")
	case model.MetricTypeHistogram:
		cut("_bucket", "_sum", "_count")
	case model.MetricTypeGaugeHistogram:
		cut("_bucket", "_gsum", "_gcount")
	case model.MetricTypeSummary:
		cut("_sum", "_count")
	case model.MetricTypeInfo:
		family, _ = strings.CutSuffix(family, "_info")
		cut("_info")
	}
	return family == got
}
