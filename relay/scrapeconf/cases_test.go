package scrapeconf

import (
	"strings"
	"testing"
)

// scrapeCases are documents read by both parsers (TestDifferential).
var scrapeCases = []diffCase{
	// Defaults and globals.
	{name: "empty", doc: ``},
	{name: "no jobs", doc: `scrape_configs: []`},
	{name: "defaults", doc: `scrape_configs: [{job_name: a}]`},
	{name: "empty global", doc: "global: {}\nscrape_configs: [{job_name: a}]"},
	{name: "global interval", doc: "global: {scrape_interval: 15s}\nscrape_configs: [{job_name: a}]"},
	{name: "global short interval caps timeout", doc: "global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a}]"},
	{name: "global timeout", doc: "global: {scrape_interval: 30s, scrape_timeout: 20s}\nscrape_configs: [{job_name: a}, {job_name: b, scrape_interval: 10s}]"},
	{name: "global timeout over interval", bad: true, doc: "global: {scrape_interval: 10s, scrape_timeout: 20s}"},
	{name: "global limits", doc: `global: {sample_limit: 10, target_limit: 2, label_limit: 3, label_name_length_limit: 4, label_value_length_limit: 5, keep_dropped_targets: 6, body_size_limit: 10MB}
scrape_configs: [{job_name: a}, {job_name: b, sample_limit: 100, body_size_limit: 1KB}]`},
	{name: "global native histograms", doc: "global: {scrape_native_histograms: true}\nscrape_configs: [{job_name: a}, {job_name: b, scrape_native_histograms: false}]"},
	{name: "global nhcb and classic", doc: "global: {convert_classic_histograms_to_nhcb: true, always_scrape_classic_histograms: true}\nscrape_configs: [{job_name: a}, {job_name: b, convert_classic_histograms_to_nhcb: false}]"},
	{name: "global protocols", doc: "global: {scrape_protocols: [PrometheusText0.0.4]}\nscrape_configs: [{job_name: a, scrape_native_histograms: true}]"},
	{name: "global protocols empty", bad: true, doc: "global: {scrape_protocols: []}\nscrape_configs: [{job_name: a}]"},
	{name: "global protocols unknown", bad: true, doc: "global: {scrape_protocols: [Bogus]}"},
	{name: "global legacy names", doc: "global: {metric_name_validation_scheme: legacy}\nscrape_configs: [{job_name: a}, {job_name: b, metric_name_validation_scheme: utf8}]"},
	{name: "global escaping", doc: "global: {metric_name_escaping_scheme: dots}\nscrape_configs: [{job_name: a}]"},
	{name: "global escaping unknown", bad: true, doc: "global: {metric_name_escaping_scheme: bogus}\nscrape_configs: [{job_name: a}]"},
	{name: "global legacy with utf8 escaping", bad: true, doc: "global: {metric_name_validation_scheme: legacy, metric_name_escaping_scheme: allow-utf-8}\nscrape_configs: [{job_name: a}]"},
	{name: "global extra metrics", doc: "global: {extra_scrape_metrics: true}\nscrape_configs: [{job_name: a}]"},
	{name: "global unknown key", bad: true, doc: "global: {scrape_intervall: 1m}"},
	{name: "global external_labels", doc: "global: {external_labels: {a: b}}", refused: "global.external_labels is not supported by edgerelay"},
	{name: "global evaluation_interval", doc: "global: {evaluation_interval: 1m}", refused: "global.evaluation_interval is not supported"},
	{name: "global scrape_failure_log_file", doc: "global: {scrape_failure_log_file: f.log}", refused: "global.scrape_failure_log_file is not supported"},

	// Every implemented key.
	{name: "every key", doc: `scrape_configs:
- job_name: all
  honor_labels: true
  honor_timestamps: false
  track_timestamps_staleness: true
  params: {module: [if_mib], x: [a, b]}
  scrape_interval: 30s
  scrape_timeout: 7s
  scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0]
  fallback_scrape_protocol: PrometheusText0.0.4
  scrape_native_histograms: true
  always_scrape_classic_histograms: true
  convert_classic_histograms_to_nhcb: true
  metrics_path: /probe
  scheme: https
  enable_compression: false
  body_size_limit: 64MiB
  sample_limit: 1000
  target_limit: 10
  label_limit: 30
  label_name_length_limit: 100
  label_value_length_limit: 200
  native_histogram_bucket_limit: 160
  native_histogram_min_bucket_factor: 1.1
  keep_dropped_targets: 5
  metric_name_validation_scheme: legacy
  metric_name_escaping_scheme: underscores
  extra_scrape_metrics: false
  static_configs:
  - targets: [a:9100, b:9100]
    labels: {dc: x}
  - targets: ['c:9100']
  relabel_configs:
  - {source_labels: [__address__], target_label: __param_target}
  - {action: labeldrop, regex: tmp_.*}
  metric_relabel_configs:
  - {source_labels: [__name__], regex: go_.*, action: drop}
  basic_auth: {username: u, password: p}
  tls_config: {insecure_skip_verify: true, server_name: x}
  proxy_url: http://127.0.0.1:3128
  follow_redirects: false
  enable_http2: false
`},
	{name: "authorization and files", doc: `scrape_configs:
- job_name: a
  authorization: {type: Bearer, credentials_file: token}
  tls_config: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}
`},
	{name: "oauth2", doc: `scrape_configs:
- job_name: a
  oauth2: {client_id: i, client_secret: s, token_url: "http://127.0.0.1/t", scopes: [a]}
`},
	{name: "headers", doc: "scrape_configs: [{job_name: a, http_headers: {X-A: {values: [b]}}}]"},
	{name: "utf8 job", doc: "scrape_configs: [{job_name: a, metric_name_validation_scheme: utf8, metric_name_escaping_scheme: values}]"},
	{name: "several jobs", doc: "scrape_configs: [{job_name: a}, {job_name: b, scrape_interval: 2s}, {job_name: c, scrape_timeout: 1s}]"},
	{name: "static labels only", doc: "scrape_configs: [{job_name: a, static_configs: [{labels: {a: b}}, {}]}]"},
	{name: "static URL target with relabelling", doc: "scrape_configs: [{job_name: a, static_configs: [{targets: ['http://x/y']}], relabel_configs: [{target_label: x, replacement: y}]}]"},
	{name: "anchors", doc: `scrape_configs:
- {job_name: a, scrape_interval: &i 5s, sample_limit: 9, static_configs: [&g {targets: [a:1]}]}
- {job_name: b, scrape_interval: *i, static_configs: [*g]}`},

	// Discoveries.
	{name: "file_sd", doc: "scrape_configs: [{job_name: a, file_sd_configs: [{files: [t/*.json, x.yml]}, {files: [y.yaml], refresh_interval: 1m}]}]"},
	{name: "http_sd", doc: "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'http://127.0.0.1:1/sd', refresh_interval: 15s, basic_auth: {username: u, password: p}}]}]"},
	{name: "http_sd defaults", doc: "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'https://x/sd'}]}]"},
	{name: "dns_sd", doc: "scrape_configs: [{job_name: a, dns_sd_configs: [{names: [_x._tcp.y]}, {names: [a.b], type: A, port: 9100, refresh_interval: 5s}]}]"},
	{name: "every discovery", doc: `scrape_configs:
- job_name: a
  static_configs: [{targets: ['x:1']}]
  dns_sd_configs: [{names: [_x._tcp.y]}]
  file_sd_configs: [{files: [a.json]}]
  http_sd_configs: [{url: 'http://x/sd'}]
  static_configs: [{targets: ['y:1']}]
`, bad: true},

	// Refusals.
	{name: "scrape_failure_log_file", doc: "scrape_configs: [{job_name: a, scrape_failure_log_file: f.log}]", refused: "scrape_configs[0].scrape_failure_log_file is not supported by edgerelay"},
	{name: "ec2_sd_configs", doc: "scrape_configs: [{job_name: a}, {job_name: b, ec2_sd_configs: [{region: x}]}]", refused: "scrape_configs[1].ec2_sd_configs is not supported by edgerelay"},
	{name: "gce_sd_configs", doc: "scrape_configs: [{job_name: a, gce_sd_configs: [{}]}]", refused: "scrape_configs[0].gce_sd_configs"},
	{name: "azure_sd_configs", doc: "scrape_configs: [{job_name: a, azure_sd_configs: [{}]}]", refused: "scrape_configs[0].azure_sd_configs"},

	// Errors.
	{name: "no job name", bad: true, doc: "scrape_configs: [{scrape_interval: 1m}]"},
	{name: "null job", bad: true, doc: "scrape_configs: [null]"},
	{name: "duplicate job", bad: true, doc: "scrape_configs: [{job_name: a}, {job_name: a}]"},
	{name: "timeout over interval", bad: true, doc: "scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 6s}]"},
	{name: "timeout over global interval", bad: true, doc: "global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a, scrape_timeout: 6s}]"},
	{name: "unknown key", bad: true, doc: "scrape_configs: [{job_name: a, scrape_intervall: 1m}]"},
	{name: "bad duration", bad: true, doc: "scrape_configs: [{job_name: a, scrape_interval: soon}]"},
	{name: "bad body size", bad: true, doc: "scrape_configs: [{job_name: a, body_size_limit: big}]"},
	{name: "bad protocol", bad: true, doc: "scrape_configs: [{job_name: a, scrape_protocols: [Bogus]}]"},
	{name: "duplicate protocol", bad: true, doc: "scrape_configs: [{job_name: a, scrape_protocols: [PrometheusProto, prometheusproto]}]"},
	{name: "empty protocols", bad: true, doc: "scrape_configs: [{job_name: a, scrape_protocols: []}]"},
	{name: "bad fallback", bad: true, doc: "scrape_configs: [{job_name: a, fallback_scrape_protocol: Bogus}]"},
	{name: "bad validation scheme", bad: true, doc: "scrape_configs: [{job_name: a, metric_name_validation_scheme: bogus}]"},
	{name: "bad escaping scheme", bad: true, doc: "scrape_configs: [{job_name: a, metric_name_escaping_scheme: bogus}]"},
	{name: "legacy with utf8 escaping", bad: true, doc: "scrape_configs: [{job_name: a, metric_name_validation_scheme: legacy, metric_name_escaping_scheme: allow-utf-8}]"},
	{name: "static URL target", bad: true, doc: "scrape_configs: [{job_name: a, static_configs: [{targets: ['http://x/metrics']}]}]"},
	{name: "null static", bad: true, doc: "scrape_configs: [{job_name: a, static_configs: [null]}]"},
	{name: "null relabel", bad: true, doc: "scrape_configs: [{job_name: a, relabel_configs: [null]}]"},
	{name: "null metric relabel", bad: true, doc: "scrape_configs: [{job_name: a, metric_relabel_configs: [null]}]"},
	{name: "bad relabel regex", bad: true, doc: "scrape_configs: [{job_name: a, relabel_configs: [{regex: '('}]}]"},
	{name: "bad relabel action", bad: true, doc: "scrape_configs: [{job_name: a, relabel_configs: [{action: bogus}]}]"},
	{name: "relabel target label legacy", bad: true, doc: "scrape_configs: [{job_name: a, metric_name_validation_scheme: legacy, relabel_configs: [{target_label: 'a.b', replacement: x}]}]"},
	{name: "relabel target label utf8", doc: "scrape_configs: [{job_name: a, relabel_configs: [{target_label: 'a.b', replacement: x}]}]"},
	{name: "relabel hashmod without modulus", bad: true, doc: "scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, source_labels: [a], target_label: b}]}]"},
	{name: "two auths", bad: true, doc: "scrape_configs: [{job_name: a, basic_auth: {username: u}, authorization: {credentials: x}}]"},
	{name: "bearer and authorization", bad: true, doc: "scrape_configs: [{job_name: a, bearer_token: x, authorization: {credentials: y}}]"},
	{name: "basic auth password twice", bad: true, doc: "scrape_configs: [{job_name: a, basic_auth: {username: u, password: p, password_file: f}}]"},
	{name: "bad proxy", bad: true, doc: "scrape_configs: [{job_name: a, proxy_url: '::'}]"},
	{name: "file_sd no files", bad: true, doc: "scrape_configs: [{job_name: a, file_sd_configs: [{}]}]"},
	{name: "file_sd bad name", bad: true, doc: "scrape_configs: [{job_name: a, file_sd_configs: [{files: [a.txt]}]}]"},
	{name: "file_sd two stars", bad: true, doc: "scrape_configs: [{job_name: a, file_sd_configs: [{files: [a/*/*.json]}]}]"},
	{name: "file_sd null", bad: true, doc: "scrape_configs: [{job_name: a, file_sd_configs: [null]}]"},
	{name: "file_sd unknown key", bad: true, doc: "scrape_configs: [{job_name: a, file_sd_configs: [{files: [a.json], refresh: 1m}]}]"},
	{name: "http_sd no url", bad: true, doc: "scrape_configs: [{job_name: a, http_sd_configs: [{refresh_interval: 1m}]}]"},
	{name: "http_sd bad scheme", bad: true, doc: "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'ftp://x/y'}]}]"},
	{name: "http_sd no host", bad: true, doc: "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'http:///y'}]}]"},
	{name: "http_sd two auths", bad: true, doc: "scrape_configs: [{job_name: a, http_sd_configs: [{url: 'http://x/y', basic_auth: {username: u}, bearer_token: t}]}]"},
	{name: "dns_sd no names", bad: true, doc: "scrape_configs: [{job_name: a, dns_sd_configs: [{type: SRV}]}]"},
	{name: "dns_sd no port", bad: true, doc: "scrape_configs: [{job_name: a, dns_sd_configs: [{names: [a.b], type: AAAA}]}]"},
	{name: "dns_sd bad type", bad: true, doc: "scrape_configs: [{job_name: a, dns_sd_configs: [{names: [a.b], type: TXT}]}]"},
	{name: "params not a list", bad: true, doc: "scrape_configs: [{job_name: a, params: {a: b}}]"},
	{name: "not a list", bad: true, doc: "scrape_configs: {job_name: a}"},
	{name: "job not a mapping", bad: true, doc: "scrape_configs: [a]"},
}

// TestDifferential reads each document with Load and with Prometheus'
// config.Load: the same verdict and the same values, or a refusal by name
// where edgerelay does not implement a key.
func TestDifferential(t *testing.T) {
	for _, c := range append(scrapeCases, fullCases...) {
		t.Run(c.name, func(t *testing.T) { runDiff(t, c) })
	}
}

// TestRefusalsWithOtherProblems: a document refusing a key is still read
// for its other problems, and both are said.
func TestRefusalsWithOtherProblems(t *testing.T) {
	_, err := Load("scrape_configs: [{job_name: a, scrape_failure_log_file: f, scrape_interval: 1s, scrape_timeout: 2s}, {job_name: b, ec2_sd_configs: [{}]}]")
	for _, want := range []string{
		"scrape_configs[0].scrape_failure_log_file is not supported by edgerelay",
		"scrape_configs[1].ec2_sd_configs is not supported by edgerelay",
		`scrape timeout greater than scrape interval for scrape config with job name "a"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	if _, err := Load("scrape_configs: [{job_name: a, scrape_failure_log_file: f}]"); err == nil || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("one refusal, nothing else wrong: %v", err)
	}
}
