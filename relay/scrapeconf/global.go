package scrapeconf

import (
	"errors"
	"fmt"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
)

// GlobalConfig is the scrape settings of Prometheus' global section, the
// defaults of every scrape config. Its other keys are refused by name.
type GlobalConfig struct {
	// ScrapeInterval defaults to 1m; ScrapeTimeout to 10s capped at
	// ScrapeInterval, which it must not exceed.
	ScrapeInterval model.Duration `yaml:"scrape_interval,omitempty"`
	ScrapeTimeout  model.Duration `yaml:"scrape_timeout,omitempty"`
	// ScrapeProtocols: nil lets each job choose by its native histograms.
	ScrapeProtocols []ScrapeProtocol `yaml:"scrape_protocols,omitempty"`
	// ScrapeFailureLogFile is always empty: the key is refused.
	ScrapeFailureLogFile  string           `yaml:"scrape_failure_log_file,omitempty"`
	BodySizeLimit         units.Base2Bytes `yaml:"body_size_limit,omitempty"`
	SampleLimit           uint             `yaml:"sample_limit,omitempty"`
	TargetLimit           uint             `yaml:"target_limit,omitempty"`
	LabelLimit            uint             `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit  uint             `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit uint             `yaml:"label_value_length_limit,omitempty"`
	KeepDroppedTargets    uint             `yaml:"keep_dropped_targets,omitempty"`
	// MetricNameValidationScheme defaults to utf8 (so does any value
	// other than legacy and utf8 that model.ValidationScheme takes).
	MetricNameValidationScheme     model.ValidationScheme `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme       string                 `yaml:"metric_name_escaping_scheme,omitempty"`
	ScrapeNativeHistograms         *bool                  `yaml:"scrape_native_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB bool                   `yaml:"convert_classic_histograms_to_nhcb,omitempty"`
	AlwaysScrapeClassicHistograms  bool                   `yaml:"always_scrape_classic_histograms,omitempty"`
	ExtraScrapeMetrics             *bool                  `yaml:"extra_scrape_metrics,omitempty"`
}

func boolPtr(b bool) *bool { return &b }

// DefaultGlobalConfig is the globals when the document has none.
var DefaultGlobalConfig = GlobalConfig{
	ScrapeInterval:             model.Duration(time.Minute),
	ScrapeTimeout:              model.Duration(10 * time.Second),
	ScrapeNativeHistograms:     boolPtr(false),
	ExtraScrapeMetrics:         boolPtr(false),
	MetricNameValidationScheme: model.UTF8Validation,
	MetricNameEscapingScheme:   model.AllowUTF8,
}

// UnmarshalYAML reads the globals, applies their defaults and checks them
// as Prometheus does.
func (c *GlobalConfig) UnmarshalYAML(unmarshal func(any) error) error {
	if err := refuseKeys(unmarshal, refusedGlobalKeys); err != nil {
		return err
	}
	gc := &GlobalConfig{}
	type plain GlobalConfig
	if err := unmarshal((*plain)(gc)); err != nil {
		return err
	}
	switch gc.MetricNameValidationScheme {
	case model.UTF8Validation, model.LegacyValidation:
	default:
		gc.MetricNameValidationScheme = DefaultGlobalConfig.MetricNameValidationScheme
	}
	if gc.ScrapeInterval == 0 {
		gc.ScrapeInterval = DefaultGlobalConfig.ScrapeInterval
	}
	if gc.ScrapeTimeout > gc.ScrapeInterval {
		return errors.New("global scrape timeout greater than scrape interval")
	}
	if gc.ScrapeTimeout == 0 {
		gc.ScrapeTimeout = min(DefaultGlobalConfig.ScrapeTimeout, gc.ScrapeInterval)
	}
	if gc.ScrapeNativeHistograms == nil {
		gc.ScrapeNativeHistograms = DefaultGlobalConfig.ScrapeNativeHistograms
	}
	if gc.ExtraScrapeMetrics == nil {
		gc.ExtraScrapeMetrics = DefaultGlobalConfig.ExtraScrapeMetrics
	}
	if gc.ScrapeProtocols != nil {
		if err := validateAcceptScrapeProtocols(gc.ScrapeProtocols); err != nil {
			return fmt.Errorf("%w for global config", err)
		}
	}
	*c = *gc
	return nil
}

// isZero reports whether c is the zero value: an empty global: block.
func (c *GlobalConfig) isZero() bool {
	return c.ScrapeInterval == 0 && c.ScrapeTimeout == 0 && c.ScrapeProtocols == nil &&
		c.ScrapeFailureLogFile == "" && c.BodySizeLimit == 0 && c.SampleLimit == 0 &&
		c.TargetLimit == 0 && c.LabelLimit == 0 && c.LabelNameLengthLimit == 0 &&
		c.LabelValueLengthLimit == 0 && c.KeepDroppedTargets == 0 &&
		c.MetricNameValidationScheme == model.UnsetValidation && c.MetricNameEscapingScheme == "" &&
		c.ScrapeNativeHistograms == nil && !c.ConvertClassicHistogramsToNHCB &&
		!c.AlwaysScrapeClassicHistograms && c.ExtraScrapeMetrics == nil
}

// Config is a scrape configuration document: Prometheus' global section
// (its scrape settings) and scrape_configs.
type Config struct {
	GlobalConfig  GlobalConfig    `yaml:"global"`
	ScrapeConfigs []*ScrapeConfig `yaml:"scrape_configs,omitempty"`
}

// DefaultConfig is an empty document's value.
var DefaultConfig = Config{GlobalConfig: DefaultGlobalConfig}

// UnmarshalYAML reads the document, then gives each scrape config its
// globals and refuses a job name used twice.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	type plain Config
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.GlobalConfig.isZero() {
		c.GlobalConfig = DefaultGlobalConfig
	}
	jobs := map[string]struct{}{}
	for _, sc := range c.ScrapeConfigs {
		if err := sc.Validate(c.GlobalConfig); err != nil {
			return err
		}
		if _, ok := jobs[sc.JobName]; ok {
			return fmt.Errorf("found multiple scrape configs with job name %q", sc.JobName)
		}
		jobs[sc.JobName] = struct{}{}
	}
	return nil
}

// SetDirectory resolves every relative file name against dir.
func (c *Config) SetDirectory(dir string) {
	for _, sc := range c.ScrapeConfigs {
		sc.SetDirectory(dir)
	}
}

// Load reads a document of Prometheus' syntax with global and
// scrape_configs, as Prometheus' config.Load reads those: unknown keys are
// errors, and keys edgerelay does not implement are refused by name (a
// RefusedErrors naming each, joined with the rest of the document's
// problems). Relative file names stay relative: see SetDirectory.
func Load(s string) (*Config, error) {
	refused, rest := scanRefusals(s)
	cfg := DefaultConfig
	err := yaml.UnmarshalStrict([]byte(rest), &cfg)
	if len(refused) > 0 {
		return nil, errors.Join(refused, err)
	}
	if err != nil {
		return nil, err
	}
	return &cfg, nil
}
