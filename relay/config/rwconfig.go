package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
	yamlv2 "go.yaml.in/yaml/v2"
)

// RemoteWriteConfig is one cloud.remote_write entry's keys of Prometheus'
// syntax. Field names, types, YAML keys, defaults and validation are
// Prometheus' (config.RemoteWriteConfig); sigv4 is in the full build only
// (rwauth_full.go), and the keys no build implements are refused by name
// (unsupportedRemoteWrite). edgerelay's own keys are RemoteWriteOut.
type RemoteWriteConfig struct {
	// URL is the endpoint. Required.
	URL *commoncfg.URL `yaml:"url"`
	// RemoteTimeout bounds one request; default 30s.
	RemoteTimeout model.Duration `yaml:"remote_timeout,omitempty"`
	// Headers are sent with every request; Authorization and the headers
	// remote_write sets itself are refused.
	Headers map[string]string `yaml:"headers,omitempty"`
	// WriteRelabelConfigs rewrite each series before it is queued.
	WriteRelabelConfigs []*relabel.Config `yaml:"write_relabel_configs,omitempty"`
	// Name names the output in metrics and its queue's directory; default
	// the URL.
	Name string `yaml:"name,omitempty"`
	// SendExemplars and SendNativeHistograms send those too; default false.
	SendExemplars        bool `yaml:"send_exemplars,omitempty"`
	SendNativeHistograms bool `yaml:"send_native_histograms,omitempty"`
	// ProtobufMessage is the remote_write message; edgerelay sends
	// remote_write 1.0, prometheus.WriteRequest, the default, and refuses
	// the other.
	ProtobufMessage string `yaml:"protobuf_message,omitempty"`

	// HTTPClientConfig: authorization, basic_auth, oauth2, tls_config,
	// proxy; redirects followed, HTTP/2 off by default.
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
	QueueConfig      QueueConfig                `yaml:"queue_config,omitempty"`
	MetadataConfig   MetadataConfig             `yaml:"metadata_config,omitempty"`

	// remoteWriteAuth is the full build's sigv4; empty in the default build.
	remoteWriteAuth `yaml:",inline"`
}

// QueueConfig is queue_config: how the output batches, spreads and retries
// its sends.
type QueueConfig struct {
	// Capacity is the samples buffered per shard; default 10000.
	Capacity int `yaml:"capacity,omitempty"`
	// MaxShards and MinShards bound the concurrent senders; defaults 50, 1.
	MaxShards int `yaml:"max_shards,omitempty"`
	MinShards int `yaml:"min_shards,omitempty"`
	// MaxSamplesPerSend bounds one request; default 2000.
	MaxSamplesPerSend int `yaml:"max_samples_per_send,omitempty"`
	// BatchSendDeadline is how long a sample waits for a full request;
	// default 5s.
	BatchSendDeadline model.Duration `yaml:"batch_send_deadline,omitempty"`
	// MinBackoff and MaxBackoff bound the wait between retries; defaults
	// 30ms and 5s.
	MinBackoff model.Duration `yaml:"min_backoff,omitempty"`
	MaxBackoff model.Duration `yaml:"max_backoff,omitempty"`
	// RetryOnRateLimit is retry_on_http_429 (RemoteWriteOut.RetryOn429
	// says whether it was written: edgerelay retries a 429 unless told not to).
	RetryOnRateLimit bool `yaml:"retry_on_http_429,omitempty"`
	// SampleAgeLimit drops samples older than it; 0, the default: none.
	SampleAgeLimit model.Duration `yaml:"sample_age_limit,omitempty"`
}

// MetadataConfig is metadata_config: whether and how often metric
// metadata is sent.
type MetadataConfig struct {
	Send              bool           `yaml:"send"`
	SendInterval      model.Duration `yaml:"send_interval"`
	MaxSamplesPerSend int            `yaml:"max_samples_per_send,omitempty"`
}

// The remote_write defaults, Prometheus'.
var (
	DefaultQueueConfig = QueueConfig{
		MaxShards:         50,
		MinShards:         1,
		MaxSamplesPerSend: 2000,
		Capacity:          10000,
		BatchSendDeadline: model.Duration(5 * time.Second),
		MinBackoff:        model.Duration(30 * time.Millisecond),
		MaxBackoff:        model.Duration(5 * time.Second),
	}
	DefaultMetadataConfig = MetadataConfig{
		Send:              true,
		SendInterval:      model.Duration(time.Minute),
		MaxSamplesPerSend: 2000,
	}
	DefaultRemoteWriteConfig = RemoteWriteConfig{
		RemoteTimeout:    model.Duration(30 * time.Second),
		ProtobufMessage:  WriteV1MessageType,
		QueueConfig:      DefaultQueueConfig,
		MetadataConfig:   DefaultMetadataConfig,
		HTTPClientConfig: commoncfg.HTTPClientConfig{FollowRedirects: true},
	}
)

// The remote_write protobuf messages: 1.0's, which edgerelay sends, and 2.0's.
const (
	WriteV1MessageType = "prometheus.WriteRequest"
	WriteV2MessageType = "io.prometheus.write.v2.Request"
)

// SetDirectory resolves relative file names against dir.
func (c *RemoteWriteConfig) SetDirectory(dir string) {
	c.HTTPClientConfig.SetDirectory(dir)
}

// UnmarshalYAML applies DefaultRemoteWriteConfig and checks the entry as
// Prometheus does, with its messages.
func (c *RemoteWriteConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultRemoteWriteConfig
	type plain RemoteWriteConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.URL == nil {
		return errors.New("url for remote_write is empty")
	}
	for _, rc := range c.WriteRelabelConfigs {
		if rc == nil {
			return errors.New("empty or null relabeling rule in remote write config")
		}
	}
	if err := validateHeaders(c.Headers); err != nil {
		return err
	}
	if c.ProtobufMessage != WriteV1MessageType && c.ProtobufMessage != WriteV2MessageType {
		return fmt.Errorf("invalid protobuf_message value: unknown type for remote write protobuf message %v, supported: %s, %s",
			c.ProtobufMessage, WriteV1MessageType, WriteV2MessageType)
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return err
	}
	if err := c.QueueConfig.Validate(); err != nil {
		return err
	}
	return c.validateAuth()
}

// validateAuth refuses more than one authentication.
func (c *RemoteWriteConfig) validateAuth() error {
	var set []string
	if c.HTTPClientConfig.BasicAuth != nil {
		set = append(set, "basic_auth")
	}
	if c.HTTPClientConfig.Authorization != nil {
		set = append(set, "authorization")
	}
	if c.HTTPClientConfig.OAuth2 != nil {
		set = append(set, "oauth2")
	}
	set = append(set, c.remoteWriteAuth.configured()...)
	if len(set) > 1 {
		return fmt.Errorf("at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: %v", set)
	}
	return nil
}

// reservedHeaders are the headers remote_write sets itself (authorization
// is refused apart).
var reservedHeaders = map[string]bool{
	"host": true, "content-encoding": true, "content-length": true, "content-type": true,
	"user-agent": true, "connection": true, "keep-alive": true, "proxy-authenticate": true,
	"proxy-authorization": true, "www-authenticate": true, "accept-encoding": true,
	"x-prometheus-remote-write-version": true, "x-prometheus-remote-read-version": true,
	"x-amz-date": true, "x-amz-security-token": true, "x-amz-content-sha256": true,
}

func validateHeaders(headers map[string]string) error {
	for h := range headers {
		if strings.ToLower(h) == "authorization" {
			return errors.New("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter")
		}
		if reservedHeaders[strings.ToLower(h)] {
			return fmt.Errorf("%s is a reserved header. It must not be changed", h)
		}
	}
	return nil
}

// Validate refuses queue settings that cannot work.
func (c *QueueConfig) Validate() error {
	switch {
	case c.MaxShards <= 0:
		return errors.New("remote write queue max_shards must be positive")
	case c.MinShards <= 0:
		return errors.New("remote write queue min_shards must be positive")
	case c.MinShards > c.MaxShards:
		return errors.New("remote write queue min_shards must not be greater than max_shards")
	case c.MaxSamplesPerSend <= 0:
		return errors.New("remote write queue max_samples_per_send must be positive")
	case c.Capacity <= 0:
		return errors.New("remote write queue capacity must be positive")
	case c.MaxBackoff < c.MinBackoff:
		return errors.New("remote write queue max_backoff must not be less than min_backoff")
	}
	return nil
}

// loadRemoteWrite reads a document whose remote_write holds the entries,
// as Prometheus' config.Load reads that key: unknown keys are errors,
// names are unique, relabelling is checked.
func loadRemoteWrite(doc []byte) ([]*RemoteWriteConfig, error) {
	var c struct {
		RemoteWrite []*RemoteWriteConfig `yaml:"remote_write,omitempty"`
	}
	if err := yamlv2.UnmarshalStrict(doc, &c); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, rw := range c.RemoteWrite {
		if rw == nil {
			return nil, errors.New("empty or null remote write config section")
		}
		if names[rw.Name] && rw.Name != "" {
			return nil, fmt.Errorf("found multiple remote write configs with job name %q", rw.Name)
		}
		names[rw.Name] = true
		for _, rc := range rw.WriteRelabelConfigs {
			if err := rc.Validate(model.UTF8Validation); err != nil {
				return nil, err
			}
		}
	}
	return c.RemoteWrite, nil
}
