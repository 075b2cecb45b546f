package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay"
)

// ParseOptions configure ParseScrape.
type ParseOptions struct {
	// ContentType is the body's media type as a target's Content-Type
	// header gives it; one textparse does not know falls back to the job's
	// fallback_scrape_protocol, as a scrape does.
	ContentType string
	// Timestamp, in milliseconds, is the scrape's time: the timestamp of
	// samples the body gives none.
	Timestamp int64
	// Config is the scrape job whose settings apply (honor_timestamps,
	// metric_relabel_configs, limits, name validation, histogram settings,
	// fallback protocol); nil means a job with Prometheus' defaults.
	Config *promconfig.ScrapeConfig
}

// ParseScrape turns the body of one scrape into the Batch the edge's
// Scraper submits for a target serving that body, less what comes from the
// target rather than the body: its labels (job, instance, ...), the report
// series (up, scrape_duration_seconds, ...) and staleness markers. It
// parses with Prometheus' textparse under the options Prometheus' scrape
// loop uses (scrapeOptions and the job's config), takes each entry as the
// scrape loop's append does — label sets through the same mutation (empty
// label values dropped, metric_relabel_configs), duplicates of a series
// without a timestamp dropped, timestamps more than 10 minutes ahead
// dropped, exemplars sorted and given the sample's timestamp when they have
// none, metadata passed with the series of its family only — and builds the
// Batch with the Scraper's own appender. An error is what fails a scrape:
// a parse error, a label set without a name or with an invalid name, or a
// limit exceeded (label limits count the series' own labels here; a scrape
// counts the target's labels too).
func ParseScrape(body []byte, o ParseOptions) (*relay.Batch, error) {
	cfg := o.Config
	if cfg == nil {
		var err error
		if cfg, err = defaultScrapeConfig(); err != nil {
			return nil, err
		}
	}
	if cfg.BodySizeLimit > 0 && int64(len(body)) > int64(cfg.BodySizeLimit) {
		return nil, fmt.Errorf("body size limit exceeded: %d bytes, limit %d", len(body), cfg.BodySizeLimit)
	}
	so := scrapeOptions()
	p, err := textparse.New(body, o.ContentType, labels.NewSymbolTable(), textparse.ParserOptions{
		EnableTypeAndUnitLabels:                 so.EnableTypeAndUnitLabels,
		IgnoreNativeHistograms:                  !cfg.ScrapeNativeHistogramsEnabled(),
		ConvertClassicHistogramsToNHCB:          cfg.ConvertClassicHistogramsToNHCBEnabled(),
		KeepClassicOnClassicAndNativeHistograms: cfg.AlwaysScrapeClassicHistogramsEnabled(),
		OpenMetricsSkipSTSeries:                 so.ParseST || so.EnableStartTimestampZeroIngestion,
		EnableOpenMetrics2:                      so.EnableOpenMetrics2,
		FallbackContentType:                     cfg.ScrapeFallbackProtocol.HeaderMediaType(),
	})
	if p == nil {
		return nil, fmt.Errorf("content type %q: %w", o.ContentType, err)
	}
	sink := &captureSink{}
	discard := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "discarded"}, []string{"reason"})
	app := (&appendable{sink: sink, ingested: discard.WithLabelValues(""), rejected: discard}).AppenderV2(context.Background())
	if err := appendParsed(p, app, o.Timestamp, cfg); err != nil {
		app.Rollback()
		return nil, err
	}
	if err := app.Commit(); err != nil {
		return nil, err
	}
	b := sink.b
	if b == nil {
		b = &relay.Batch{Scrape: true}
	}
	b.Job, b.Instance, b.Timestamp = "", "", o.Timestamp
	return b, nil
}

// maxAheadTime is how far ahead of now a sample's timestamp may be; the
// scrape loop drops later ones (out of bounds).
const maxAheadTime = 10 * time.Minute

// appendParsed is the scrape loop's append (Prometheus' scrape package,
// scrapeLoopAppenderV2.append) for one scrape without a target or history.
func appendParsed(p textparse.Parser, app storage.AppenderV2, defTime int64, cfg *promconfig.ScrapeConfig) error {
	var (
		meta       = map[string]*metadata.Metadata{}
		lastMeta   *metadata.Metadata
		lastMFName string
		seen       = map[string]bool{} // series appended in this scrape, by their text
		dropped    = map[string]bool{} // series dropped by metric_relabel_configs
		exemplars  []exemplar.Exemplar
		e          exemplar.Exemplar
		lset       labels.Labels
		added      int
		maxT       = time.Now().Add(maxAheadTime).UnixMilli()
		lb         = labels.NewBuilder(labels.EmptyLabels())
	)
	setMeta := func(name []byte, set func(*metadata.Metadata)) {
		m, ok := meta[string(name)]
		if !ok {
			m = &metadata.Metadata{Type: model.MetricTypeUnknown}
			meta[string(name)] = m
		}
		set(m)
		lastMFName, lastMeta = string(name), m
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var (
			met             []byte
			parsedTimestamp *int64
			v               float64
			h               *histogram.Histogram
			fh              *histogram.FloatHistogram
		)
		switch et {
		case textparse.EntryType:
			name, t := p.Type()
			setMeta(name, func(m *metadata.Metadata) { m.Type = t })
			continue
		case textparse.EntryHelp:
			name, help := p.Help()
			setMeta(name, func(m *metadata.Metadata) { m.Help = string(help) })
			continue
		case textparse.EntryUnit:
			name, unit := p.Unit()
			setMeta(name, func(m *metadata.Metadata) { m.Unit = string(unit) })
			continue
		case textparse.EntryComment:
			continue
		case textparse.EntryHistogram:
			met, parsedTimestamp, h, fh = p.Histogram()
		default:
			met, parsedTimestamp, v = p.Series()
		}
		if !cfg.HonorTimestamps {
			parsedTimestamp = nil
		}
		t := defTime
		if parsedTimestamp != nil {
			t = *parsedTimestamp
		}
		if dropped[string(met)] {
			continue
		}
		p.Labels(&lset)
		lb.Reset(lset)
		if !relabel.ProcessBuilder(lb, cfg.MetricRelabelConfigs...) {
			dropped[string(met)] = true
			continue
		}
		lset = lb.Labels() // empty label values are gone here, as in a scrape
		if lset.IsEmpty() {
			dropped[string(met)] = true
			continue
		}
		if !lset.Has(model.MetricNameLabel) {
			return fmt.Errorf("missing metric name (%s label)", model.MetricNameLabel)
		}
		if !lset.IsValid(cfg.MetricNameValidationScheme) {
			return fmt.Errorf("invalid metric name or label names: %s", lset.String())
		}
		if err := checkLabelLimits(lset, cfg); err != nil {
			return err
		}
		if seen[string(met)] && parsedTimestamp == nil {
			continue // a duplicate sample for the timestamp
		}
		if t > maxT {
			continue // out of bounds
		}
		seen[string(met)] = true
		exemplars = exemplars[:0]
		for p.Exemplar(&e) {
			if !e.HasTs {
				if h != nil || fh != nil {
					e = exemplar.Exemplar{}
					continue // as the scrape loop drops them
				}
				e.Ts = t
			}
			exemplars = append(exemplars, e)
			e = exemplar.Exemplar{}
		}
		var opts storage.AppendV2Options
		if len(exemplars) > 0 {
			slices.SortFunc(exemplars, exemplar.Compare)
			opts.Exemplars = exemplars
		}
		if lastMeta != nil && !isSeriesPartOfFamily(lset.Get(model.MetricNameLabel), lastMFName, lastMeta.Type) {
			lastMeta = nil
		}
		if lastMeta != nil {
			opts.MetricFamilyName, opts.Metadata = lastMFName, *lastMeta
		}
		added++
		if cfg.SampleLimit > 0 && added > int(cfg.SampleLimit) {
			return fmt.Errorf("sample_limit exceeded: limit %d", cfg.SampleLimit)
		}
		if _, err := app.Append(0, lset, 0, t, v, h, fh, opts); err != nil {
			return err
		}
	}
}

// checkLabelLimits is the scrape loop's label_limit,
// label_name_length_limit and label_value_length_limit.
func checkLabelLimits(lset labels.Labels, cfg *promconfig.ScrapeConfig) error {
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

// defaultScrapeConfig is a job with Prometheus' defaults, as config.Load
// would give it. ParseScrape only reads it.
var defaultScrapeConfig = sync.OnceValues(func() (*promconfig.ScrapeConfig, error) {
	pc, err := promconfig.Load("scrape_configs: [{job_name: scrape}]", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("BUG: default scrape config: %w", err)
	}
	cfgs, err := pc.GetScrapeConfigs()
	if err != nil || len(cfgs) != 1 {
		return nil, fmt.Errorf("BUG: default scrape config: %v", err)
	}
	return cfgs[0], nil
})

// captureSink keeps the one batch a ParseScrape appender submits.
type captureSink struct{ b *relay.Batch }

func (s *captureSink) Submit(_ context.Context, b *relay.Batch) error {
	s.b = b
	return nil
}
