package config

import (
	"fmt"
	"net/url"
	"time"
)

// The cloud's hooks for what it receives besides the files, /federate and
// remote_write: cloud.notify announces each new scrape directory to an
// exec hook and/or a webhook (package relay/cloud/notify); cloud.stream
// serves GET /api/v1/stream (package relay/cloud/stream).

// Notify configures cloud.notify. Without exec and webhook nothing is
// announced.
type Notify struct {
	// Exec runs a command per new scrape directory.
	Exec *NotifyExec `yaml:"exec"`
	// Webhook POSTs new scrape directories as JSON.
	Webhook *Webhook `yaml:"webhook"`
	// SpoolMaxBytes bounds each hook's spool of notices not yet delivered
	// (in cloud.data_dir/notify/<hook>); past it the oldest are dropped
	// and counted. Default 64MiB.
	SpoolMaxBytes Bytes `yaml:"spool_max_bytes"`
	// MinBackoff and MaxBackoff bound the wait between attempts to deliver
	// a notice that failed; defaults 500ms and 30s.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// NotifyExec is a command run once per new scrape directory, with the
// notice as JSON on its standard input and in EDGERELAY_NOTIFY_*
// environment variables.
type NotifyExec struct {
	// Command is the program: a path, or a name looked up in PATH. Required.
	Command string `yaml:"command"`
	// Args are its arguments.
	Args []string `yaml:"args"`
	// Timeout bounds one run (it is killed past it, and retried); default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Webhook is an HTTP endpoint POSTed the notices as JSON.
type Webhook struct {
	// URL is http:// or https://. Required.
	URL string `yaml:"url"`
	// Headers are set on every request (Authorization, ...).
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one request; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxNotices bounds the notices of one request; default 100.
	MaxNotices int `yaml:"max_notices_per_request"`
}

// Stream configures GET /api/v1/stream.
type Stream struct {
	// MaxSubscribers bounds concurrent streams; more get 503. Default 64.
	MaxSubscribers int `yaml:"max_subscribers"`
	// BufferSamples bounds what one subscriber may fall behind, in samples;
	// a subscriber further behind is cut off. Default 100000.
	BufferSamples int `yaml:"buffer_samples"`
	// WriteTimeout bounds one write to a subscriber; a subscriber that
	// takes longer is cut off. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// DefaultNotify and DefaultStream hold the values unset fields take.
var (
	DefaultNotify = Notify{SpoolMaxBytes: 64 << 20, MinBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second}
	DefaultStream = Stream{MaxSubscribers: 64, BufferSamples: 100_000, WriteTimeout: 10 * time.Second}
)

func (cl *Cloud) applyHookDefaults() {
	n, dn := &cl.Notify, DefaultNotify
	setDefault(&n.SpoolMaxBytes, dn.SpoolMaxBytes)
	setDefault(&n.MinBackoff, dn.MinBackoff)
	setDefault(&n.MaxBackoff, dn.MaxBackoff)
	if n.Exec != nil {
		setDefault(&n.Exec.Timeout, 30*time.Second)
	}
	if n.Webhook != nil {
		setDefault(&n.Webhook.Timeout, 10*time.Second)
		setDefault(&n.Webhook.MaxNotices, 100)
	}
	s, ds := &cl.Stream, DefaultStream
	setDefault(&s.MaxSubscribers, ds.MaxSubscribers)
	setDefault(&s.BufferSamples, ds.BufferSamples)
	setDefault(&s.WriteTimeout, ds.WriteTimeout)
}

// validateHooks returns the problems of cloud.notify and cloud.stream.
func (cl *Cloud) validateHooks() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	n := cl.Notify
	if n.MinBackoff < 0 {
		bad("cloud.notify.min_backoff must be >= 0; got %s", n.MinBackoff)
	}
	if n.MaxBackoff < n.MinBackoff {
		bad("cloud.notify.max_backoff (%s) must not be below cloud.notify.min_backoff (%s)", n.MaxBackoff, n.MinBackoff)
	}
	if e := n.Exec; e != nil {
		if e.Command == "" {
			bad("cloud.notify.exec.command is required")
		}
		if e.Timeout < 0 {
			bad("cloud.notify.exec.timeout must be >= 0; got %s", e.Timeout)
		}
	}
	if w := n.Webhook; w != nil {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("cloud.notify.webhook.url must be an http:// or https:// URL; got %q", w.URL)
		}
		if w.Timeout < 0 {
			bad("cloud.notify.webhook.timeout must be >= 0; got %s", w.Timeout)
		}
		if w.MaxNotices < 0 {
			bad("cloud.notify.webhook.max_notices_per_request must be >= 0; got %d", w.MaxNotices)
		}
	}
	s := cl.Stream
	if s.MaxSubscribers < 0 {
		bad("cloud.stream.max_subscribers must be >= 0; got %d", s.MaxSubscribers)
	}
	if s.BufferSamples < 0 {
		bad("cloud.stream.buffer_samples must be >= 0; got %d", s.BufferSamples)
	}
	if s.WriteTimeout < 0 {
		bad("cloud.stream.write_timeout must be >= 0; got %s", s.WriteTimeout)
	}
	return errs
}
