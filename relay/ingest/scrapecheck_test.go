package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckScrapeConfigs: what discovery would fail on at start is an
// error naming the job and the entry; what is fine passes.
func TestCheckScrapeConfigs(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(good, []byte(`[{"targets":["h:1"]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("- targets: [h:1]\n  bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := scrapeConfigs(t, `scrape_configs:
- {job_name: a, file_sd_configs: [{files: ['`+good+`', '`+dir+`/none*.json']}], http_sd_configs: [{url: 'http://127.0.0.1:1/sd'}]}`)
	if err := CheckScrapeConfigs(ok, nil); err != nil {
		t.Errorf("good config: %v", err)
	}
	cfgs := scrapeConfigs(t, `scrape_configs:
- {job_name: a, file_sd_configs: [{files: ['`+good+`']}, {files: ['`+bad+`']}],
   http_sd_configs: [{url: 'http://127.0.0.1:1/sd'}, {url: 'https://127.0.0.1:1/sd', tls_config: {ca_file: '`+dir+`/missing.pem'}}]}`)
	err := CheckScrapeConfigs(cfgs, nil)
	if err == nil {
		t.Fatal("bad config passed")
	}
	for _, want := range []string{
		`edge.scrape_configs[0] (job "a").file_sd_configs[1]: ` + bad + `: yaml: unmarshal errors`,
		`edge.scrape_configs[0] (job "a").http_sd_configs[1]: unable to read CA cert`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 2 {
		t.Errorf("%d errors, want 2: %v", n, err)
	}
}
