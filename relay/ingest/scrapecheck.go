package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	commoncfg "github.com/prometheus/common/config"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/sd"
)

// CheckScrapeConfigs does what the scrape loops and discovery do with cfgs
// when the Scraper applies them, where a failure would otherwise
// only be logged and the job left unscraped: it builds each job's HTTP
// client (TLS, CA, certificate, key and credential files are read), checks
// its name escaping scheme, reads every file its file_sd_configs match
// as file discovery reads them and builds its http_sd_configs' clients. The returned error joins one error per
// problem, each naming the job. A file_sd pattern matching no file is not
// an error (the files may be written later): it is logged as a warning.
func CheckScrapeConfigs(cfgs []*scrapeconf.ScrapeConfig, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for i, c := range cfgs {
		field := fmt.Sprintf("edge.scrape_configs[%d] (job %q)", i, c.JobName)
		// As newScrapePool builds it; Prometheus logs a failure and drops the job.
		if _, err := commoncfg.NewClientFromConfig(c.HTTPClientConfig, c.JobName); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		if _, err := scrapeconf.ToEscapingScheme(c.MetricNameEscapingScheme, c.MetricNameValidationScheme); err != nil {
			errs = append(errs, fmt.Errorf("%s.metric_name_escaping_scheme: %w", field, err))
		}
		errs = append(errs, checkSD(field, c.Configs(), log)...)
	}
	return errors.Join(errs...)
}

// checkSD checks a job's discoveries as they start: file_sd_configs'
// files are read, http_sd_configs' HTTP clients built (TLS and credential
// files read), as discovery does before it asks anything.
func checkSD(field string, sdcs []sd.Config, log *slog.Logger) []error {
	var errs []error
	nFile, nHTTP := 0, 0
	for _, sdc := range sdcs {
		switch c := sdc.(type) {
		case *sd.FileConfig:
			for _, pattern := range c.Files {
				errs = append(errs, checkFileSD(fmt.Sprintf("%s.file_sd_configs[%d]", field, nFile), pattern, log)...)
			}
			nFile++
		case *sd.HTTPConfig:
			if _, err := c.NewProvider(sd.ProviderOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("%s.http_sd_configs[%d]: %w", field, nHTTP, err))
			}
			nHTTP++
		}
	}
	return errs
}

// checkFileSD reads the files pattern matches as file discovery does
// (sd.DecodeFileGroups): JSON or strict YAML target groups.
func checkFileSD(field, pattern string, log *slog.Logger) []error {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return []error{fmt.Errorf("%s: pattern %q: %w", field, pattern, err)}
	}
	if len(files) == 0 {
		log.Warn("file_sd pattern matches no file yet", "field", field, "pattern", pattern)
		return nil
	}
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
			continue
		}
		_, err = sd.DecodeFileGroups(b, f)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", field, f, err))
		}
	}
	return errs
}
