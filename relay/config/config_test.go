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
		"bad-upstreams.bad.yaml": {"edge.upstream and edge.upstreams are both set", `edge.upstream_mode must be replicate or failover; got "mirror"`,
			"edge.queue.replay_share applies to edge.upstream only", `edge.upstreams[1].name "a" is used twice`,
			`edge.upstreams[1].address must be host:port; got "nowhere"`, "edge.upstreams[1].max_backlog_bytes applies to upstream_mode replicate only",
			`edge.uplink.schedule[0].pause: want HH:MM-HH:MM; got "08:00-8:30"`, `edge.uplink.schedule[1].pause: an empty window`,
			`edge.uplink.schedule[1].days: "monday" is not one of mon`},
		"bad-failover.bad.yaml": {"edge.failover_after must be at least 1s; got 100ms",
			"edge.upstreams[0].max_backlog_bytes applies to upstream_mode replicate only"},
		"bad-scrape.bad.yaml":  {"edge.scrape_configs", "scrape timeout greater than scrape interval"},
		"bad-unknown.bad.yaml": {"sight"},
		"bad-delta.bad.yaml":   {"edge.plugins[0]: builtin:delta must be the last stage"},
		"bad-native.bad.yaml": {"edge.plugins[0].limits.memory_pages does not apply to builtin:aggregate",
			"edge.plugins[0].clock does not apply to builtin:aggregate"},
		"bad-delta-config.bad.yaml": {"edge.plugins[0].config", "fullevery"},
		"bad-queue.bad.yaml":        {"edge.queue.replay_share must be in (0, 1]; got 1.5"},
		"bad-size.bad.yaml":         {`line 5: "-1" is not a size: a size cannot be negative`},
		"bad-hooks.bad.yaml": {"cloud.notify.exec.command is required", "cloud.notify.exec.timeout must be >= 0",
			`cloud.notify.webhook.url must be an http:// or https:// URL; got "ftp://example.com/hook"`,
			"cloud.notify.max_backoff (1s) must not be below cloud.notify.min_backoff (2s)", "cloud.stream.max_subscribers must be >= 0"},
		"bad-federate-users.bad.yaml": {"cloud.federate.tenant_users needs cloud.web_config_file",
			`cloud.federate.tenant_users["grafana-bolt"]: tenant "bolt" is not one of cloud.tenants`,
			`cloud.federate.tenant_users["grafana-x"] must be a tenant name`},
		"bad-identity.bad.yaml": {`cloud.client_identity must be auto, spiffe or subject; got "cn"`,
			"cloud.client_identity needs cloud.client_ca_file",
			"cloud.tenants[0].token_file is required (or sites, each with its token_file, or cloud.client_ca_file for certificates alone)",
			`cloud.tenants[1].name "acme" appears twice`,
			"cloud.tenants[2].sites[0].token_file is required",
			`cloud.tenants[2].sites[1].name must be letters, digits, '-', '_' or '.'; got "../x"`},
		"bad-unsupported.bad.yaml": {"edge.scrape_configs[0].scrape_failure_log_file is not supported by edgerelay",
			"cloud.remote_write[0].protobuf_message is not supported by edgerelay with value \"io.prometheus.write.v2.Request\"",
			"cloud.remote_write[0].round_robin_dns is not supported", `cloud.remote_write[0].tenant_header is not an HTTP header name; got "X Scope"`,
			"cloud.remote_write[0].queue_max_bytes must be at least 1MiB; got 1024",
			`edge.plugins[0].clock must be fake or real; got "wall"`, "edge.plugins[0].limits.memory_pages must be at most 65536",
			"edge.plugins[0].limits.timeout must be >= 0", "edge.plugins[1].limits.timeout does not apply to builtin:relabel",
			`cloud.tenants[1].name "a" appears twice`},
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

// TestDeltaStage: delta encoding is on by default; a builtin:delta stage,
// last in the chain, configures it and leaves the WebAssembly chain.
func TestDeltaStage(t *testing.T) {
	base := "edge:\n  tenant: a\n  site: b\n  upstream: {address: \"127.0.0.1:4433\"}\n"
	c, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Edge.Delta != DefaultDelta {
		t.Fatalf("default delta %+v, want %+v", c.Edge.Delta, DefaultDelta)
	}
	c, err = Parse([]byte(base + "  plugins:\n    - module: builtin:filter\n      config: {drop: ['{x=\"y\"}']}\n    - module: builtin:delta\n      config: {full_every: 1h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Edge.Delta.FullEvery != time.Hour || c.Edge.Delta.Disabled || len(c.Edge.Plugins) != 1 || c.Edge.Plugins[0].Module != "builtin:filter" {
		t.Fatalf("delta %+v, plugins %+v", c.Edge.Delta, c.Edge.Plugins)
	}
	c, err = Parse([]byte(base + "  plugins:\n    - module: builtin:delta\n      config: {disabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Edge.Delta.Disabled || len(c.Edge.Plugins) != 0 {
		t.Fatalf("delta %+v, plugins %+v", c.Edge.Delta, c.Edge.Plugins)
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

func TestRemoteWriteOutKeys(t *testing.T) {
	c, err := Load("testdata/both.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := c.Cloud.ForwardOut
	if len(out) != 1 || out[0].TenantHeader != "X-Scope-OrgID" || out[0].QueueMaxBytes != 256<<20 ||
		out[0].RetryOn429 == nil || *out[0].RetryOn429 {
		t.Fatalf("edgerelay's remote_write keys: %+v", out)
	}
	rw := c.Cloud.Forward[0]
	if rw.QueueConfig.MaxShards != 4 || rw.QueueConfig.Capacity != 5000 || rw.Name != "vm" {
		t.Fatalf("Prometheus' remote_write keys: %+v", rw.QueueConfig)
	}
	if RemoteWriteDirName(rw) != "vm" {
		t.Fatalf("queue directory %q", RemoteWriteDirName(rw))
	}
	c, err = Parse([]byte("cloud:\n  remote_write:\n    - url: http://x:1/api/v1/write\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Cloud.ForwardOut[0]; o.RetryOn429 != nil || o.QueueMaxBytes != DefaultRemoteWriteQueueMaxBytes {
		t.Fatalf("defaults: %+v", o)
	}
	if d := RemoteWriteDirName(c.Cloud.Forward[0]); d != "x_1_api_v1_write" {
		t.Fatalf("queue directory %q", d)
	}
}
