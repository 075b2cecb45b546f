package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// TestNativeHistogramScrapeKeys: the scrape_configs keys that negotiate and
// shape native histograms are taken as Prometheus takes them (the scraper
// implements them: relay/ingest TestScrapeNativeHistogram), none refused.
func TestNativeHistogramScrapeKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.yaml")
	os.WriteFile(path, []byte(`
edge:
  tenant: acme
  site: plant-7
  data_dir: ./data
  upstream: {address: "127.0.0.1:4433"}
  scrape_configs:
    - job_name: native
      scrape_native_histograms: true
      always_scrape_classic_histograms: true
      native_histogram_bucket_limit: 160
      native_histogram_min_bucket_factor: 1.1
      static_configs: [{targets: ["127.0.0.1:9100"]}]
    - job_name: proto
      scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0]
      convert_classic_histograms_to_nhcb: true
      static_configs: [{targets: ["127.0.0.1:9101"]}]
`), 0o644)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	native, proto := c.Edge.Scrape[0], c.Edge.Scrape[1]
	if !native.ScrapeNativeHistogramsEnabled() || !native.AlwaysScrapeClassicHistogramsEnabled() ||
		native.NativeHistogramBucketLimit != 160 || native.NativeHistogramMinBucketFactor != 1.1 {
		t.Errorf("native job: %+v", native)
	}
	if len(native.ScrapeProtocols) == 0 || native.ScrapeProtocols[0] != scrapeconf.PrometheusProto {
		t.Errorf("scrape_native_histograms: protocols %v, want the protobuf format first", native.ScrapeProtocols)
	}
	if len(proto.ScrapeProtocols) != 2 || proto.ScrapeProtocols[0] != scrapeconf.PrometheusProto || !proto.ConvertClassicHistogramsToNHCBEnabled() {
		t.Errorf("proto job: protocols %v nhcb %v", proto.ScrapeProtocols, proto.ConvertClassicHistogramsToNHCBEnabled())
	}
}
