package scrapeconf

import (
	"errors"
	"fmt"

	"github.com/prometheus/common/model"
)

// Validate fills what defaults to the globals and checks the config as
// Prometheus does (config.ScrapeConfig.Validate), with its messages.
func (c *ScrapeConfig) Validate(g GlobalConfig) error {
	if c == nil {
		return errors.New("empty or null scrape config section")
	}
	c.inheritGlobals(g)
	if c.ScrapeTimeout > c.ScrapeInterval {
		return fmt.Errorf("scrape timeout greater than scrape interval for scrape config with job name %q", c.JobName)
	}
	if err := validateAcceptScrapeProtocols(c.ScrapeProtocols); err != nil {
		return fmt.Errorf("%w for scrape config with job name %q", err, c.JobName)
	}
	if c.ScrapeFallbackProtocol != "" {
		if err := c.ScrapeFallbackProtocol.Validate(); err != nil {
			return fmt.Errorf("invalid fallback_scrape_protocol for scrape config with job name %q: %w", c.JobName, err)
		}
	}
	if err := c.validateNames(g); err != nil {
		return err
	}
	if c.ConvertClassicHistogramsToNHCB == nil {
		v := g.ConvertClassicHistogramsToNHCB
		c.ConvertClassicHistogramsToNHCB = &v
	}
	if c.AlwaysScrapeClassicHistograms == nil {
		v := g.AlwaysScrapeClassicHistograms
		c.AlwaysScrapeClassicHistograms = &v
	}
	for _, rc := range c.RelabelConfigs {
		if err := rc.Validate(c.MetricNameValidationScheme); err != nil {
			return err
		}
	}
	for _, rc := range c.MetricRelabelConfigs {
		if err := rc.Validate(c.MetricNameValidationScheme); err != nil {
			return err
		}
	}
	return nil
}

// inheritGlobals sets every unset field that defaults to a global.
func (c *ScrapeConfig) inheritGlobals(g GlobalConfig) {
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = g.ScrapeInterval
	}
	if c.ScrapeTimeout == 0 { // min: never above the interval
		c.ScrapeTimeout = min(g.ScrapeTimeout, c.ScrapeInterval)
	}
	for _, f := range []struct{ v, g *uint }{
		{&c.SampleLimit, &g.SampleLimit}, {&c.TargetLimit, &g.TargetLimit},
		{&c.LabelLimit, &g.LabelLimit}, {&c.LabelNameLengthLimit, &g.LabelNameLengthLimit},
		{&c.LabelValueLengthLimit, &g.LabelValueLengthLimit}, {&c.KeepDroppedTargets, &g.KeepDroppedTargets},
	} {
		if *f.v == 0 {
			*f.v = *f.g
		}
	}
	if c.BodySizeLimit == 0 {
		c.BodySizeLimit = g.BodySizeLimit
	}
	if c.ScrapeFailureLogFile == "" {
		c.ScrapeFailureLogFile = g.ScrapeFailureLogFile
	}
	if c.ScrapeNativeHistograms == nil {
		c.ScrapeNativeHistograms = g.ScrapeNativeHistograms
	}
	if c.ExtraScrapeMetrics == nil {
		c.ExtraScrapeMetrics = g.ExtraScrapeMetrics
	}
	if c.ScrapeProtocols == nil {
		switch {
		case g.ScrapeProtocols != nil:
			c.ScrapeProtocols = g.ScrapeProtocols
		case c.ScrapeNativeHistogramsEnabled():
			c.ScrapeProtocols = DefaultProtoFirstScrapeProtocols
		default:
			c.ScrapeProtocols = DefaultScrapeProtocols
		}
	}
}

// validateNames settles the metric name validation and escaping schemes,
// from the globals when unset.
func (c *ScrapeConfig) validateNames(g GlobalConfig) error {
	//nolint:staticcheck // Prometheus refuses a process-wide legacy scheme too.
	if model.NameValidationScheme != model.UTF8Validation {
		return errors.New("model.NameValidationScheme must be set to UTF8")
	}
	switch g.MetricNameValidationScheme {
	case model.LegacyValidation, model.UTF8Validation:
	default:
		return errors.New("global name validation method must be set")
	}
	localUnset := false
	switch c.MetricNameValidationScheme {
	case model.UnsetValidation:
		localUnset = true
		c.MetricNameValidationScheme = g.MetricNameValidationScheme
	case model.LegacyValidation, model.UTF8Validation:
	default:
		return fmt.Errorf("unknown scrape config name validation method specified, must be either '', 'legacy' or 'utf8', got %s", c.MetricNameValidationScheme)
	}
	globalEscaping := g.MetricNameEscapingScheme
	switch globalEscaping {
	case "":
		globalEscaping = model.AllowUTF8
		if g.MetricNameValidationScheme == model.LegacyValidation {
			globalEscaping = model.EscapeUnderscores
		}
	case model.AllowUTF8, model.EscapeUnderscores, model.EscapeDots, model.EscapeValues:
	default:
		return fmt.Errorf("unknown global name escaping method specified, must be one of '%s', '%s', '%s', or '%s', got %q", model.AllowUTF8, model.EscapeUnderscores, model.EscapeDots, model.EscapeValues, globalEscaping)
	}
	if c.MetricNameEscapingScheme == "" {
		switch {
		case localUnset:
			c.MetricNameEscapingScheme = globalEscaping
		case c.MetricNameValidationScheme == model.LegacyValidation:
			c.MetricNameEscapingScheme = model.EscapeUnderscores
		default:
			c.MetricNameEscapingScheme = model.AllowUTF8
		}
	}
	switch c.MetricNameEscapingScheme {
	case model.AllowUTF8:
		if c.MetricNameValidationScheme != model.UTF8Validation {
			return errors.New("utf8 metric names requested but validation scheme is not set to UTF8")
		}
	case model.EscapeUnderscores, model.EscapeDots, model.EscapeValues:
	default:
		return fmt.Errorf("unknown scrape config name escaping method specified, must be one of '%s', '%s', '%s', or '%s', got %q", model.AllowUTF8, model.EscapeUnderscores, model.EscapeDots, model.EscapeValues, c.MetricNameEscapingScheme)
	}
	return nil
}
