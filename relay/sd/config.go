package sd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// Provider discovers target groups: Run sends each change on up (a group
// with no targets removes the targets its Source had) until ctx is done.
// Prometheus' discovery.Discoverer has the same method.
type Provider interface {
	Run(ctx context.Context, up chan<- []*targetgroup.Group)
}

// Config is one service discovery configuration of a job: it builds the
// Provider that runs it.
type Config interface {
	// Name is the mechanism, as Prometheus names it: "file" for
	// file_sd_configs, "http", "dns", "static", ...
	Name() string
	NewProvider(ProviderOptions) (Provider, error)
}

// ProviderOptions are what a Provider is built with.
type ProviderOptions struct {
	// Logger; nil discards logs.
	Logger *slog.Logger
	// Metrics the provider counts in; nil counts nowhere.
	Metrics *Metrics
	// Job is the scrape job whose config it is.
	Job string
}

func (o ProviderOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// StaticConfig is a job's static_configs: target groups given in the
// configuration itself.
type StaticConfig []*targetgroup.Group

// Name implements Config.
func (StaticConfig) Name() string { return "static" }

// NewProvider implements Config.
func (c StaticConfig) NewProvider(ProviderOptions) (Provider, error) { return staticProvider(c), nil }

type staticProvider []*targetgroup.Group

// Run sends the groups once, each with its index as Source (Prometheus
// numbers static groups the same way), then waits for ctx.
func (p staticProvider) Run(ctx context.Context, up chan<- []*targetgroup.Group) {
	tgs := make([]*targetgroup.Group, 0, len(p))
	for i, g := range p {
		if g == nil {
			continue
		}
		c := *g
		c.Source = fmt.Sprint(i)
		tgs = append(tgs, &c)
	}
	select {
	case up <- tgs:
	case <-ctx.Done():
	}
	close(up)
}

// fileSDName is what Prometheus accepts as a file_sd_configs path: any
// directory, at most one "*" in the file name, a JSON or YAML extension.
var fileSDName = regexp.MustCompile(`^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`)

// DefaultFileConfig is Prometheus' default: files re-read every 5m
// besides whenever they change.
var DefaultFileConfig = FileConfig{RefreshInterval: model.Duration(5 * time.Minute)}

// FileConfig is one entry of file_sd_configs.
type FileConfig struct {
	// Files are path patterns (a "*" in the file name at most) of JSON or
	// YAML lists of target groups.
	Files []string `yaml:"files"`
	// RefreshInterval: every file is read again this often (default 5m),
	// besides when it changes.
	RefreshInterval model.Duration `yaml:"refresh_interval,omitempty"`
}

// Name implements Config.
func (*FileConfig) Name() string { return "file" }

// SetDirectory makes relative paths relative to dir, the configuration
// file's directory.
func (c *FileConfig) SetDirectory(dir string) {
	for i, f := range c.Files {
		c.Files[i] = commoncfg.JoinDir(dir, f)
	}
}

// UnmarshalYAML applies the defaults and refuses what Prometheus refuses,
// with its messages.
func (c *FileConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultFileConfig
	type plain FileConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if len(c.Files) == 0 {
		return errors.New("file service discovery config must contain at least one path name")
	}
	for _, name := range c.Files {
		if !fileSDName.MatchString(name) {
			return fmt.Errorf("path name %q is not valid for file discovery", name)
		}
	}
	return nil
}

// DefaultHTTPConfig is Prometheus' default: the URL is asked every 60s,
// with the default HTTP client settings.
var DefaultHTTPConfig = HTTPConfig{
	HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
	RefreshInterval:  model.Duration(60 * time.Second),
}

// HTTPConfig is one entry of http_sd_configs.
type HTTPConfig struct {
	// HTTPClientConfig: authorization, TLS, proxy, ... for the requests.
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
	// RefreshInterval: the URL is asked this often (default 60s); it is
	// also each request's timeout.
	RefreshInterval model.Duration `yaml:"refresh_interval,omitempty"`
	// URL answers a JSON list of target groups.
	URL string `yaml:"url"`
}

// Name implements Config.
func (*HTTPConfig) Name() string { return "http" }

// SetDirectory makes the client's relative file paths relative to dir.
func (c *HTTPConfig) SetDirectory(dir string) { c.HTTPClientConfig.SetDirectory(dir) }

// UnmarshalYAML applies the defaults and refuses what Prometheus refuses,
// with its messages.
func (c *HTTPConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultHTTPConfig
	type plain HTTPConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if c.URL == "" {
		return errors.New("URL is missing")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("URL scheme must be 'http' or 'https'")
	}
	if u.Host == "" {
		return errors.New("host is missing in URL")
	}
	return c.HTTPClientConfig.Validate()
}
