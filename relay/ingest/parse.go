package ingest

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
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
	Config *scrapeconf.ScrapeConfig
}

// ParseScrape turns the body of one scrape into the Batch the edge's
// Scraper submits for a target serving that body, less what comes from the
// target rather than the body: its labels (job, instance, ...), the report
// series (up, scrape_duration_seconds, ...) and staleness markers. It
// parses with Prometheus' textparse under the options Prometheus' scrape
// loop uses (parserOptions and the job's config), takes each entry as the
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
	opts := parserOptions(cfg, cfg.ScrapeNativeHistogramsEnabled(), cfg.AlwaysScrapeClassicHistogramsEnabled(),
		cfg.ConvertClassicHistogramsToNHCBEnabled())
	p, err := textparse.New(body, o.ContentType, labels.NewSymbolTable(), opts)
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

// parserOptions are the textparse options a scrape of a job's target
// parses with, the target's histogram settings given: those of
// Prometheus' scrape loop without its feature flags (no type and unit
// labels, no start timestamps, no OpenMetrics 2.0).
func parserOptions(cfg *scrapeconf.ScrapeConfig, native, classic, nhcb bool) textparse.ParserOptions {
	return textparse.ParserOptions{
		IgnoreNativeHistograms:                  !native,
		ConvertClassicHistogramsToNHCB:          nhcb,
		KeepClassicOnClassicAndNativeHistograms: classic,
		FallbackContentType:                     cfg.ScrapeFallbackProtocol.HeaderMediaType(),
	}
}

// defaultScrapeConfig is a job with Prometheus' defaults, as config.Load
// would give it. ParseScrape only reads it.
var defaultScrapeConfig = sync.OnceValues(func() (*scrapeconf.ScrapeConfig, error) {
	pc, err := scrapeconf.Load("scrape_configs: [{job_name: scrape}]")
	if err != nil || len(pc.ScrapeConfigs) != 1 {
		return nil, fmt.Errorf("BUG: default scrape config: %v", err)
	}
	return pc.ScrapeConfigs[0], nil
})

// captureSink keeps the one batch a ParseScrape appender submits.
type captureSink struct{ b *relay.Batch }

func (s *captureSink) Submit(_ context.Context, b *relay.Batch) error {
	s.b = b
	return nil
}
