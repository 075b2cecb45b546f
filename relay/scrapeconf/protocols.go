package scrapeconf

import (
	"errors"
	"fmt"
	"mime"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
)

// ScrapeProtocol names a format a scrape may ask a target for, as
// Prometheus names it.
type ScrapeProtocol string

// The scrape protocols, as Prometheus spells them.
var (
	PrometheusProto      ScrapeProtocol = "PrometheusProto"
	PrometheusText0_0_4  ScrapeProtocol = "PrometheusText0.0.4"
	PrometheusText1_0_0  ScrapeProtocol = "PrometheusText1.0.0"
	OpenMetricsText0_0_1 ScrapeProtocol = "OpenMetricsText0.0.1"
	OpenMetricsText1_0_0 ScrapeProtocol = "OpenMetricsText1.0.0"
	OpenMetricsText2_0_0 ScrapeProtocol = "OpenMetricsText2.0.0"
	UTF8NamesHeader      string         = model.EscapingKey + "=" + model.AllowUTF8

	// ScrapeProtocolsHeaders is each protocol's media type in an Accept
	// header.
	ScrapeProtocolsHeaders = map[ScrapeProtocol]string{
		PrometheusProto:      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		PrometheusText0_0_4:  "text/plain;version=0.0.4",
		PrometheusText1_0_0:  "text/plain;version=1.0.0",
		OpenMetricsText0_0_1: "application/openmetrics-text;version=0.0.1",
		OpenMetricsText1_0_0: "application/openmetrics-text;version=1.0.0",
		OpenMetricsText2_0_0: "application/openmetrics-text;version=2.0.0",
	}

	// DefaultScrapeProtocols is scrape_protocols when neither the job nor
	// the globals set it, and the job does not scrape native histograms.
	DefaultScrapeProtocols = []ScrapeProtocol{
		OpenMetricsText1_0_0,
		OpenMetricsText0_0_1,
		PrometheusText1_0_0,
		PrometheusText0_0_4,
	}

	// DefaultProtoFirstScrapeProtocols is scrape_protocols when neither
	// the job nor the globals set it and the job scrapes native
	// histograms: the protobuf format first.
	DefaultProtoFirstScrapeProtocols = []ScrapeProtocol{
		PrometheusProto,
		OpenMetricsText1_0_0,
		OpenMetricsText0_0_1,
		PrometheusText1_0_0,
		PrometheusText0_0_4,
	}
)

// Validate returns an error if s is not a known protocol.
func (s ScrapeProtocol) Validate() error {
	if _, ok := ScrapeProtocolsHeaders[s]; !ok {
		known := make([]string, 0, len(ScrapeProtocolsHeaders))
		for k := range ScrapeProtocolsHeaders {
			known = append(known, string(k))
		}
		sort.Strings(known)
		return fmt.Errorf("unknown scrape protocol %v, supported: %v", s, known)
	}
	return nil
}

// HeaderMediaType returns the media type of s, "" if s is unknown.
func (s ScrapeProtocol) HeaderMediaType() string {
	h, ok := ScrapeProtocolsHeaders[s]
	if !ok {
		return ""
	}
	mediaType, _, err := mime.ParseMediaType(h)
	if err != nil {
		return ""
	}
	return mediaType
}

// validateAcceptScrapeProtocols refuses an empty list, a protocol named
// twice (in any case) and an unknown one.
func validateAcceptScrapeProtocols(sps []ScrapeProtocol) error {
	if len(sps) == 0 {
		return errors.New("scrape_protocols cannot be empty")
	}
	dups := map[string]struct{}{}
	for _, sp := range sps {
		if _, ok := dups[strings.ToLower(string(sp))]; ok {
			return fmt.Errorf("duplicated protocol in scrape_protocols, got %v", sps)
		}
		if err := sp.Validate(); err != nil {
			return fmt.Errorf("scrape_protocols: %w", err)
		}
		dups[strings.ToLower(string(sp))] = struct{}{}
	}
	return nil
}

// ToEscapingScheme is the escaping scheme named s, or when s is empty the
// one validation scheme v implies, as Prometheus decides it.
func ToEscapingScheme(s string, v model.ValidationScheme) (model.EscapingScheme, error) {
	if s == "" {
		switch v {
		case model.UTF8Validation:
			return model.NoEscaping, nil
		case model.LegacyValidation:
			return model.UnderscoreEscaping, nil
		default:
			return model.NoEscaping, fmt.Errorf("ValidationScheme is unset: %s", v)
		}
	}
	return model.ToEscapingScheme(s)
}
