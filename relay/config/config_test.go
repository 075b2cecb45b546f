package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigsLoad(t *testing.T) {
	edge, err := Load("../../configs/edge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if edge.Edge == nil || edge.Edge.Site != "plant-7" || len(edge.Edge.Scrape) != 2 {
		t.Fatalf("configs/edge.yaml: unexpected edge config %+v", edge.Edge)
	}
	if got := time.Duration(edge.Edge.Scrape[0].ScrapeInterval); got != 15*time.Second {
		t.Fatalf("scrape_interval = %s", got)
	}
	if edge.Edge.Queue.MaxBytes != 1<<30 {
		t.Fatalf("queue.max_bytes = %d", edge.Edge.Queue.MaxBytes)
	}
	cloud, err := Load("../../configs/cloud.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cloud.Cloud == nil || cloud.Cloud.Federate.MaxAge != 5*time.Minute {
		t.Fatalf("configs/cloud.yaml: unexpected cloud config %+v", cloud.Cloud)
	}
}

func TestTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	wantInErr := map[string][]string{
		"bad-missing.bad.yaml": {"edge.tenant is required", "edge.site is required", "edge.upstream.address must be host:port; got \"nowhere\"", "edge.plugins[0].on_error"},
		"bad-scrape.bad.yaml":  {"edge.scrape_configs", "scrape timeout greater than scrape interval"},
		"bad-unknown.bad.yaml": {"sight"},
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if strings.HasSuffix(f, ".good.yaml") {
				if err != nil {
					t.Fatal(err)
				}
				if c.Cloud != nil && len(c.Cloud.Forward) != 1 {
					t.Fatalf("remote_write not parsed: %+v", c.Cloud.Forward)
				}
				return
			}
			if err == nil {
				t.Fatal("bad config accepted")
			}
			for _, w := range wantInErr[filepath.Base(f)] {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestRelativeFileSDResolvesAgainstConfigDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "edge.yaml")
	os.WriteFile(p, []byte(`
edge:
  tenant: a
  site: b
  upstream: {address: "127.0.0.1:1"}
  scrape_configs:
    - job_name: f
      file_sd_configs: [{files: ['targets/*.json']}]
`), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Edge.Scrape) != 1 {
		t.Fatal("scrape config missing")
	}
}
