package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/edgerelay/edgerelay/plugins/host"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// pluginCommand returns `edgerelay plugin` with its test and bench subcommands.
func pluginCommand() *cli.Command {
	flags := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{
			&cli.StringFlag{Name: "plugin", Required: true, Usage: "builtin:<name> or a .wasm file", EnvVars: []string{"EDGERELAY_PLUGIN"}},
			&cli.StringFlag{Name: "input", Required: true, Usage: "a scrape's body (Prometheus text or OpenMetrics format), parsed as a scrape parses it", EnvVars: []string{"EDGERELAY_INPUT"}},
			&cli.StringFlag{Name: "content-type", Usage: "the input's media type as a target's Content-Type header would give it; default: OpenMetrics if it ends with '# EOF', else text/plain; version=0.0.4", EnvVars: []string{"EDGERELAY_CONTENT_TYPE"}},
			&cli.StringFlag{Name: "config", Usage: "YAML file holding the plugin's config", EnvVars: []string{"EDGERELAY_CONFIG"}},
			&cli.StringFlag{Name: "edge-config", Usage: "edgerelay configuration `FILE` holding the scrape job named by --job", EnvVars: []string{"EDGERELAY_EDGE_CONFIG"}},
			&cli.StringFlag{Name: "job", Usage: "parse the input under this scrape job's settings (honor_timestamps, metric_relabel_configs, limits, ...) from --edge-config; default: Prometheus' defaults", EnvVars: []string{"EDGERELAY_JOB"}},
		}, extra...)
	}
	return &cli.Command{
		Name:  "plugin",
		Usage: "run a WASM plugin over a scrape: see what comes out, or how fast",
		Subcommands: []*cli.Command{{
			Name:   "test",
			Usage:  "print what comes out of the plugin, in text exposition format",
			Flags:  flags(&cli.BoolFlag{Name: "show-dropped", Usage: "list dropped series as '# dropped:' comments", EnvVars: []string{"EDGERELAY_SHOW_DROPPED"}}),
			Action: pluginTest,
		}, {
			Name:   "bench",
			Usage:  "measure ns/sample (steady state), ns/new-series and guest memory pages",
			Flags:  flags(&cli.DurationFlag{Name: "duration", Value: 2 * time.Second, Usage: "how long to measure the steady state", EnvVars: []string{"EDGERELAY_DURATION"}}),
			Action: pluginBench,
		}},
	}
}

// loadPluginRun reads the scrape and builds a one-stage chain.
func loadPluginRun(c *cli.Context, cacheSize int) (*host.Chain, *relay.Batch, error) {
	in, err := os.ReadFile(c.String("input"))
	if err != nil {
		return nil, nil, fmt.Errorf("read input: %w", err)
	}
	job, err := scrapeJob(c.String("edge-config"), c.String("job"))
	if err != nil {
		return nil, nil, err
	}
	b, err := parseScrape(in, c.String("content-type"), job)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", c.String("input"), err)
	}
	b.Job, b.Instance = "plugin", c.String("input") // a scrape of one target, as the edge sees it
	pc := config.PluginConfig{Name: c.String("plugin"), Module: c.String("plugin"), OnError: "fail_closed"}
	if f := c.String("config"); f != "" {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("read plugin config: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, nil, fmt.Errorf("parse plugin config %s: %w", f, err)
		}
		if len(doc.Content) > 0 {
			pc.Config = *doc.Content[0]
		}
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
	chain, err := host.NewChain(c.Context, []config.PluginConfig{pc}, host.Options{Logger: log, CacheSize: cacheSize})
	return chain, b, err
}

// parseScrape turns a scrape's body into the batch the edge's scrape of a
// target serving it would hand the plugin chain (ingest.ParseScrape: the
// scrape's own parser and rules, empty label values dropped), less the
// target's labels and report series, under the settings of job (nil: a job
// with Prometheus' defaults). contentType "" means OpenMetrics when the body
// ends with "# EOF", the text format otherwise.
func parseScrape(in []byte, contentType string, job *scrapeconf.ScrapeConfig) (*relay.Batch, error) {
	if contentType == "" {
		contentType = "text/plain; version=0.0.4; charset=utf-8"
		if bytes.HasSuffix(bytes.TrimRight(in, "\n"), []byte("# EOF")) {
			contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
		}
	}
	return ingest.ParseScrape(in, ingest.ParseOptions{ContentType: contentType, Timestamp: time.Now().UnixMilli(), Config: job})
}

// scrapeJob returns the scrape job named job in the edge configuration
// file, loaded as run loads it; nil when neither is given.
func scrapeJob(file, job string) (*scrapeconf.ScrapeConfig, error) {
	switch {
	case file == "" && job == "":
		return nil, nil
	case file == "" || job == "":
		return nil, errors.New("--edge-config and --job go together")
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	if cfg.Edge == nil {
		return nil, fmt.Errorf("--edge-config %s has no edge: section", file)
	}
	for _, sc := range cfg.Edge.Scrape {
		if sc.JobName == job {
			return sc, nil
		}
	}
	return nil, fmt.Errorf("--edge-config %s has no scrape job %q", file, job)
}

func pluginTest(c *cli.Context) error {
	chain, b, err := loadPluginRun(c, 0)
	if err != nil {
		return err
	}
	defer chain.Close(context.Background())
	inputs := append([]relay.Series(nil), b.Series...)
	if err := chain.Process(c.Context, b); err != nil {
		return err
	}
	if d := chain.TakeDerived(); d != nil { // series a stream stage emitted
		b.Series = append(b.Series, d.Series...)
	}
	w := c.App.Writer
	if c.Bool("show-dropped") {
		for _, s := range inputs { // each alone: a memo hit, telling whether it survives
			one := &relay.Batch{Scrape: true, Series: []relay.Series{s}}
			if err := chain.Process(c.Context, one); err != nil {
				return err
			}
			if len(one.Series) == 0 {
				fmt.Fprintf(w, "# dropped: %s\n", formatSeries(s.Labels))
			}
		}
	}
	for _, s := range b.Series {
		for _, p := range s.Samples {
			if p.T == b.Timestamp { // the scrape's default: the input had none
				fmt.Fprintf(w, "%s %s\n", formatSeries(s.Labels), formatValue(p.V))
				continue
			}
			fmt.Fprintf(w, "%s %s %d\n", formatSeries(s.Labels), formatValue(p.V), p.T)
		}
	}
	return nil
}

// formatSeries writes name{labels} in exposition format.
func formatSeries(ls labels.Labels) string {
	var sb strings.Builder
	sb.WriteString(ls.Get(labels.MetricName))
	first := true
	ls.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			return
		}
		if first {
			sb.WriteByte('{')
			first = false
		} else {
			sb.WriteByte(',')
		}
		sb.WriteString(l.Name)
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(l.Value))
	})
	if !first {
		sb.WriteByte('}')
	}
	return sb.String()
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// benchStep is how far plugin bench moves the input's timestamps per round.
const benchStep = 15000

func pluginBench(c *cli.Context) error {
	chain, b, err := loadPluginRun(c, 0)
	if err != nil {
		return err
	}
	defer chain.Close(context.Background())
	series := append([]relay.Series(nil), b.Series...)
	samples := b.Samples()
	if samples == 0 {
		return errors.New("input has no samples")
	}
	// New series: give every label set a fresh label, so each is a miss.
	var newNS float64
	const rounds = 3
	for r := range rounds {
		nb := &relay.Batch{Scrape: true, Series: make([]relay.Series, len(series))}
		for i, s := range series {
			nb.Series[i] = relay.Series{Labels: labels.NewBuilder(s.Labels).Set("__bench_round", strconv.Itoa(r)).Labels(), Samples: s.Samples}
		}
		start := time.Now()
		if err := chain.Process(c.Context, nb); err != nil {
			return err
		}
		newNS += float64(time.Since(start).Nanoseconds()) / float64(len(series)) / rounds
	}
	// Steady state: the same label sets again and again (memo hits), the
	// timestamps a scrape interval later each round, so that stages keeping
	// time (builtin:aggregate, builtin:rules) close windows as they would.
	work := &relay.Batch{Scrape: true, Job: b.Job, Instance: b.Instance}
	buf := make([]relay.Sample, 0, samples)
	var n int
	start := time.Now()
	for time.Since(start) < c.Duration("duration") || n == 0 {
		// The chain rewrites a scrape's identity: each round starts from the
		// target's own, as a scrape does.
		work.Job, work.Instance = b.Job, b.Instance
		work.Series = append(work.Series[:0], series...)
		buf = buf[:0]
		for i := range work.Series {
			k := len(buf)
			for _, p := range work.Series[i].Samples {
				buf = append(buf, relay.Sample{T: p.T + int64(n)*benchStep, V: p.V})
			}
			work.Series[i].Samples = buf[k:len(buf):len(buf)]
		}
		if err := chain.Process(c.Context, work); err != nil {
			return err
		}
		chain.TakeDerived() // as the edge does after each batch
		n++
	}
	perSample := float64(time.Since(start).Nanoseconds()) / float64(n*samples)
	var pages uint32
	for _, p := range chain.PagesUsed() {
		pages = max(pages, p)
	}
	fmt.Fprintf(c.App.Writer, "series=%d samples=%d batches=%d\n", len(series), samples, n)
	fmt.Fprintf(c.App.Writer, "ns/sample=%.1f ns/new-series=%.1f pages=%d\n", perSample, newNS, pages)
	return nil
}
