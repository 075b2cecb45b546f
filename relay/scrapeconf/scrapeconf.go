package scrapeconf

import (
	"errors"
	"net/url"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// ScrapeConfig is one entry of scrape_configs. Field names, types, YAML
// keys and defaults are Prometheus' (config.ScrapeConfig); the target
// discoveries are the Discovery fields (discovery.go) instead of
// Prometheus' registry.
type ScrapeConfig struct {
	// JobName is the job label's value by default. Required, unique.
	JobName string `yaml:"job_name"`
	// HonorLabels keeps a scraped label over the target's label of the
	// same name; default false (the scraped one becomes exported_<name>).
	HonorLabels bool `yaml:"honor_labels,omitempty"`
	// HonorTimestamps keeps the timestamps a target exposes; default true.
	HonorTimestamps bool `yaml:"honor_timestamps"`
	// TrackTimestampsStaleness writes staleness markers for series with
	// exposed timestamps too; default false.
	TrackTimestampsStaleness bool `yaml:"track_timestamps_staleness"`
	// Params are the scrape request's query parameters.
	Params url.Values `yaml:"params,omitempty"`
	// ScrapeInterval defaults to the global one (1m); ScrapeTimeout to
	// the global one (10s) capped at ScrapeInterval, which it must not
	// exceed.
	ScrapeInterval model.Duration `yaml:"scrape_interval,omitempty"`
	ScrapeTimeout  model.Duration `yaml:"scrape_timeout,omitempty"`
	// ScrapeProtocols are the formats asked for, most wanted first;
	// default the global list, else DefaultProtoFirstScrapeProtocols when
	// the job scrapes native histograms, else DefaultScrapeProtocols.
	ScrapeProtocols []ScrapeProtocol `yaml:"scrape_protocols,omitempty"`
	// ScrapeFallbackProtocol parses a body whose Content-Type is missing
	// or unknown; empty: such a scrape fails.
	ScrapeFallbackProtocol ScrapeProtocol `yaml:"fallback_scrape_protocol,omitempty"`
	// ScrapeNativeHistograms, AlwaysScrapeClassicHistograms and
	// ConvertClassicHistogramsToNHCB default to the globals (false).
	ScrapeNativeHistograms         *bool `yaml:"scrape_native_histograms,omitempty"`
	AlwaysScrapeClassicHistograms  *bool `yaml:"always_scrape_classic_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB *bool `yaml:"convert_classic_histograms_to_nhcb,omitempty"`
	// ScrapeFailureLogFile is always empty: edgerelay refuses the key
	// (refuse.go) and logs scrape failures itself.
	ScrapeFailureLogFile string `yaml:"scrape_failure_log_file,omitempty"`
	// MetricsPath defaults to /metrics, Scheme to http.
	MetricsPath string `yaml:"metrics_path,omitempty"`
	Scheme      string `yaml:"scheme,omitempty"`
	// EnableCompression asks targets for gzip; default true.
	EnableCompression bool `yaml:"enable_compression"`
	// BodySizeLimit fails a scrape whose uncompressed body is larger; 0,
	// the default (or the global), means no limit.
	BodySizeLimit units.Base2Bytes `yaml:"body_size_limit,omitempty"`
	// The limits below fail a scrape (SampleLimit, LabelLimit,
	// LabelNameLengthLimit, LabelValueLengthLimit, after
	// metric_relabel_configs) or the job's targets past TargetLimit; 0,
	// the default (or the global), means no limit.
	SampleLimit           uint `yaml:"sample_limit,omitempty"`
	TargetLimit           uint `yaml:"target_limit,omitempty"`
	LabelLimit            uint `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit  uint `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit uint `yaml:"label_value_length_limit,omitempty"`
	// NativeHistogramBucketLimit and NativeHistogramMinBucketFactor merge
	// a native histogram's buckets down to the limit or up to the factor;
	// 0: not.
	NativeHistogramBucketLimit     uint    `yaml:"native_histogram_bucket_limit,omitempty"`
	NativeHistogramMinBucketFactor float64 `yaml:"native_histogram_min_bucket_factor,omitempty"`
	// KeepDroppedTargets bounds the dropped targets kept for display;
	// edgerelay keeps none, so every value holds.
	KeepDroppedTargets uint `yaml:"keep_dropped_targets,omitempty"`
	// MetricNameValidationScheme defaults to the global one (utf8);
	// MetricNameEscapingScheme to what it implies.
	MetricNameValidationScheme model.ValidationScheme `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme   string                 `yaml:"metric_name_escaping_scheme,omitempty"`
	// ExtraScrapeMetrics adds scrape_timeout_seconds,
	// scrape_sample_limit and scrape_body_size_bytes; default the global
	// (false).
	ExtraScrapeMetrics *bool `yaml:"extra_scrape_metrics,omitempty"`

	// Discovery holds the job's target discoveries (discovery.go).
	Discovery `yaml:",inline"`

	// HTTPClientConfig is the scrape requests' client: authentication,
	// TLS, proxy, redirects, HTTP/2.
	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`

	// RelabelConfigs rewrite each target's labels before it is scraped;
	// MetricRelabelConfigs each scraped series'.
	RelabelConfigs       []*relabel.Config `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []*relabel.Config `yaml:"metric_relabel_configs,omitempty"`
}

// DefaultScrapeConfig is a scrape config's value before its keys are
// read; Validate fills what defaults to the globals.
var DefaultScrapeConfig = ScrapeConfig{
	MetricsPath:       "/metrics",
	Scheme:            "http",
	HonorTimestamps:   true,
	HTTPClientConfig:  config.DefaultHTTPClientConfig,
	EnableCompression: true,
}

// SetDirectory resolves relative file names (TLS files, credentials,
// file_sd_configs patterns) against dir.
func (c *ScrapeConfig) SetDirectory(dir string) {
	c.Discovery.setDirectory(dir)
	c.HTTPClientConfig.SetDirectory(dir)
	c.ScrapeFailureLogFile = config.JoinDir(dir, c.ScrapeFailureLogFile)
}

// UnmarshalYAML applies DefaultScrapeConfig, reads the keys (refusing by
// name those edgerelay does not implement) and checks what Prometheus
// checks as it reads them; Validate finishes with the globals.
func (c *ScrapeConfig) UnmarshalYAML(unmarshal func(any) error) error {
	if err := refuseKeys(unmarshal, refusedScrapeKeys()); err != nil {
		return err
	}
	*c = DefaultScrapeConfig
	type plain ScrapeConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.JobName == "" {
		return errors.New("job_name is empty")
	}
	if err := c.Discovery.check(); err != nil {
		return err
	}
	// Validated here, as Prometheus does: an inline struct's own
	// UnmarshalYAML is not called.
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	if len(c.RelabelConfigs) == 0 {
		if err := c.Discovery.checkStaticTargets(); err != nil {
			return err
		}
	}
	for _, rc := range c.RelabelConfigs {
		if rc == nil {
			return errors.New("empty or null target relabeling rule in scrape config")
		}
	}
	for _, rc := range c.MetricRelabelConfigs {
		if rc == nil {
			return errors.New("empty or null metric relabeling rule in scrape config")
		}
	}
	return nil
}

// ScrapeNativeHistogramsEnabled reports whether the job scrapes native
// histograms.
func (c *ScrapeConfig) ScrapeNativeHistogramsEnabled() bool {
	return c.ScrapeNativeHistograms != nil && *c.ScrapeNativeHistograms
}

// ConvertClassicHistogramsToNHCBEnabled reports whether classic
// histograms become native histograms with custom buckets.
func (c *ScrapeConfig) ConvertClassicHistogramsToNHCBEnabled() bool {
	return c.ConvertClassicHistogramsToNHCB != nil && *c.ConvertClassicHistogramsToNHCB
}

// AlwaysScrapeClassicHistogramsEnabled reports whether a classic histogram
// is kept beside its native form.
func (c *ScrapeConfig) AlwaysScrapeClassicHistogramsEnabled() bool {
	return c.AlwaysScrapeClassicHistograms != nil && *c.AlwaysScrapeClassicHistograms
}

// ExtraScrapeMetricsEnabled reports whether the extra scrape_* series are
// written.
func (c *ScrapeConfig) ExtraScrapeMetricsEnabled() bool {
	return c.ExtraScrapeMetrics != nil && *c.ExtraScrapeMetrics
}
