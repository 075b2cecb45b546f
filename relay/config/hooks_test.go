package config

import (
	"fmt"
	"testing"
	"time"
)

// TestHookDefaults: cloud.notify and cloud.stream take their defaults, and
// what is set is kept.
func TestHookDefaults(t *testing.T) {
	c, err := Parse([]byte(`
cloud:
  notify:
    webhook: {url: "http://127.0.0.1:1/hook", headers: {Authorization: "Bearer x"}}
    exec: {command: /bin/true, timeout: 5s}
  stream: {buffer_samples: 5000}
`))
	if err != nil {
		t.Fatal(err)
	}
	n, s := c.Cloud.Notify, c.Cloud.Stream
	if n.SpoolMaxBytes != 64<<20 || n.MinBackoff != 500*time.Millisecond || n.MaxBackoff != 30*time.Second {
		t.Errorf("notify defaults %+v", n)
	}
	if n.Webhook.Timeout != 10*time.Second || n.Webhook.MaxNotices != 100 || n.Webhook.Headers["Authorization"] != "Bearer x" {
		t.Errorf("webhook %+v", n.Webhook)
	}
	if n.Exec.Timeout != 5*time.Second || n.Exec.Command != "/bin/true" {
		t.Errorf("exec %+v", n.Exec)
	}
	if s.BufferSamples != 5000 || s.MaxSubscribers != 64 || s.WriteTimeout != 10*time.Second {
		t.Errorf("stream %+v", s)
	}
}

// TestHooksNeedRestart: a reload refuses a change of cloud.notify or
// cloud.stream by name rather than ignoring it.
func TestHooksNeedRestart(t *testing.T) {
	parse := func(url string, buffer int) *Config {
		c, err := Parse([]byte(fmt.Sprintf("cloud:\n  notify: {webhook: {url: %q}}\n  stream: {buffer_samples: %d}\n", url, buffer)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	got := RestartOnly(parse("http://a/", 10), parse("http://b/", 20))
	if fmt.Sprint(got) != "[cloud.notify.webhook cloud.stream.buffer_samples]" {
		t.Fatalf("restart-only keys %v", got)
	}
}
