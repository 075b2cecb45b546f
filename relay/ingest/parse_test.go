package ingest

import (
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// reportSeries are the series Prometheus' scrape loop adds to every scrape.
var reportSeries = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
}

// bodyOnly takes out of a scraped batch what comes from the target and
// not from its body: the report series and the target's labels.
func bodyOnly(b *relay.Batch, targetLabels ...string) *relay.Batch {
	out := &relay.Batch{Scrape: b.Scrape, Timestamp: b.Timestamp, Metadata: map[string]relay.Metadata{}}
	for _, s := range b.Series {
		if reportSeries[s.Labels.Get(labels.MetricName)] {
			continue
		}
		s.Labels = labels.NewBuilder(s.Labels).Del(targetLabels...).Labels()
		out.Series = append(out.Series, s)
	}
	for k, v := range b.Metadata {
		if !reportSeries[k] {
			out.Metadata[k] = v
		}
	}
	return out
}

// describe writes a batch one line per sample, value bits exact, for
// comparing two batches.
func describe(b *relay.Batch) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "scrape=%v timestamp=%d\n", b.Scrape, b.Timestamp)
	for _, s := range b.Series {
		for _, p := range s.Samples {
			fmt.Fprintf(&sb, "%s %x %d\n", s.Labels, math.Float64bits(p.V), p.T)
		}
		for _, h := range s.Histograms {
			fmt.Fprintf(&sb, "%s histogram %v %v %d\n", s.Labels, h.H, h.FH, h.T)
		}
		for _, e := range s.Exemplars {
			fmt.Fprintf(&sb, "%s exemplar %s %x %d %v\n", s.Labels, e.Labels, math.Float64bits(e.Value), e.Ts, e.HasTs)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b.Metadata)) {
		fmt.Fprintf(&sb, "metadata %s %+v\n", k, b.Metadata[k])
	}
	return sb.String()
}

// TestParseScrapeEqualsScrape: for each capture, ParseScrape gives the
// Batch a real scrape of a target serving the same bytes gives (Prometheus'
// scrape loop in a Scraper, over HTTP), target labels and report series
// aside: same series in the same order, same values to the bit, same
// timestamps, exemplars and metadata.
func TestParseScrapeEqualsScrape(t *testing.T) {
	const fallback = "  fallback_scrape_protocol: PrometheusText0.0.4\n"
	cases := []struct{ name, file, contentType, job string }{
		{"node_exporter", "node_exporter.prom", "text/plain; version=0.0.4; charset=utf-8", fallback},
		{"quirks", "quirks.prom", "text/plain; version=0.0.4; charset=utf-8", fallback},
		{"OpenMetrics", "openmetrics.om", "application/openmetrics-text; version=1.0.0; charset=utf-8", fallback},
		{"unknown content type", "quirks.prom", "application/x-unknown", fallback}, // falls back as the job says
		{"job settings", "quirks.prom", "text/plain; version=0.0.4", "  honor_timestamps: false\n  label_limit: 9\n" +
			"  metric_relabel_configs: [{source_labels: [full], regex: x, action: drop}, {target_label: extra, replacement: e}]\n"},
		{"OpenMetrics job settings", "openmetrics.om", "application/openmetrics-text; version=1.0.0", "  honor_timestamps: false\n" +
			"  metric_relabel_configs: [{source_labels: [__name__], regex: 'http_.*', action: drop}]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "scrape", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			want := sameAsScrape(t, body, tc.contentType, tc.job)
			if strings.Contains(string(body), " # {") && !slices.ContainsFunc(want.Series, func(s relay.Series) bool { return len(s.Exemplars) > 0 }) {
				t.Fatal("the scrape took no exemplar from a body holding some")
			}
		})
	}
}

// TestParseScrapeEqualsScrapeNativeHistograms: the same for the protobuf
// format a target answers when scrape_native_histograms negotiates it:
// native histograms and their exemplars come out equal.
func TestParseScrapeEqualsScrapeNativeHistograms(t *testing.T) {
	_, addr := nativeTarget(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := sameAsScrape(t, body, resp.Header.Get("Content-Type"), "  scrape_native_histograms: true\n")
	if !slices.ContainsFunc(want.Series, func(s relay.Series) bool { return len(s.Histograms) > 0 && len(s.Exemplars) > 0 }) {
		t.Fatalf("the scrape took no native histogram with exemplars: %s", describe(want))
	}
}

// sameAsScrape serves body with contentType to a Scraper whose job has
// the extra settings, and fails unless ParseScrape, under the same job,
// gives what the scrape took from the body; it returns that.
func sameAsScrape(t *testing.T, body []byte, contentType, extra string) *relay.Batch {
	t.Helper()
	tg := newTarget(t, contentType, string(body))
	job := "scrape_configs:" + staticJob("capture", tg.addr()) + extra
	sink := newRecordingSink()
	runScraper(t, sink, nil, job)
	live := sink.waitFor(t, 30*time.Second, "a scrape", func(bs []*relay.Batch) bool { return len(bs) > 0 })[0]
	want := bodyOnly(live, "job", "instance", "site")
	if len(want.Series) == 0 {
		t.Fatalf("the scrape took nothing from the body: %s", describe(live))
	}
	got, err := ParseScrape(body, ParseOptions{ContentType: contentType, Timestamp: live.Timestamp, Config: scrapeConfigs(t, job)[0]})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := describe(got), describe(want); g != w {
		t.Fatalf("ParseScrape differs from the scrape:\n--- ParseScrape\n%s--- scrape\n%s", g, w)
	}
	return want
}

// TestParseScrapeDropsEmptyLabelValues: a label with an empty value is no
// label, as in a scrape; the rest of the set is kept.
func TestParseScrapeDropsEmptyLabelValues(t *testing.T) {
	body := "node_disk_info{device=\"vda\",model=\"\",serial=\"\"} 1\n"
	b, err := ParseScrape([]byte(body), ParseOptions{ContentType: "text/plain", Timestamp: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Series) != 1 || b.Series[0].Labels.String() != `{__name__="node_disk_info", device="vda"}` {
		t.Fatalf("got %s", describe(b))
	}
	if s := b.Series[0].Samples; len(s) != 1 || s[0] != (relay.Sample{T: 1000, V: 1}) || b.Timestamp != 1000 || !b.Scrape {
		t.Fatalf("got %s", describe(b))
	}
}

// TestParseScrapeErrors: what fails a scrape fails ParseScrape.
func TestParseScrapeErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, contentType, want string }{
		{"bad syntax", "not a {scrape\n", "text/plain", `while parsing: "not a"`},
		{"no EOF in OpenMetrics", "a 1\n", "application/openmetrics-text; version=1.0.0", "EOF"},
		{"no name", "{a=\"\"} 1\n", "text/plain", "metric name not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScrape([]byte(tc.body), ParseOptions{ContentType: tc.contentType})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want one mentioning %q", err, tc.want)
			}
		})
	}
}

// FuzzParseScrape: any body gives a batch or an error, never a panic, and a
// batch holds only named series.
func FuzzParseScrape(f *testing.F) {
	for _, name := range []string{"node_exporter.prom", "quirks.prom", "openmetrics.om"} {
		b, err := os.ReadFile(filepath.Join("testdata", "scrape", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(name, ".om"))
	}
	f.Fuzz(func(t *testing.T, body []byte, om bool) {
		ct := "text/plain; version=0.0.4"
		if om {
			ct = "application/openmetrics-text; version=1.0.0"
		}
		b, err := ParseScrape(body, ParseOptions{ContentType: ct, Timestamp: 1})
		if err != nil {
			return
		}
		for _, s := range b.Series {
			if s.Labels.Get(labels.MetricName) == "" {
				t.Fatalf("series without a name: %s", s.Labels)
			}
		}
	})
}
