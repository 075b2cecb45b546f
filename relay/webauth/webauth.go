// Package webauth serves an HTTP listener the way a Prometheus web
// configuration file (Prometheus' --web.config.file) says: TLS from
// tls_server_config, basic authentication from basic_auth_users (bcrypt
// hashes), http_server_config (http2, headers) and rate_limit. The file's
// format and its validation are github.com/prometheus/exporter-toolkit's
// own — this package is edgerelay's only importer of it — so operators reuse
// the file they already give Prometheus and its exporters.
//
// Unlike exporter-toolkit's web.Serve, which puts every path behind the
// users, a Listener leaves the paths it is told open (health checks) and
// tells handlers which user authenticated (User), so a role decides per
// path and per user what a request may read. As exporter-toolkit does, the
// file is read again when it changes (users, headers) and the certificate
// files on every TLS handshake, so passwords and certificates rotate
// without a restart; a file that no longer validates makes every request
// but the open paths fail with 500 until it is fixed, never fall back to no
// authentication.
//
// A Listener is safe for concurrent use.
package webauth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/time/rate"
)

// Reasons a request is refused, the values of
// edgerelay_http_refused_requests_total{reason}.
const (
	ReasonUnauthorized = "unauthorized"       // 401: no or wrong credentials
	ReasonForbidden    = "forbidden"          // 403: a user the path is not for
	ReasonRateLimited  = "rate_limited"       // 429: rate_limit of the web config
	ReasonBadWebConfig = "web_config_invalid" // 500: the file changed and no longer validates
)

// Listener applies one web configuration file to an HTTP server.
type Listener struct {
	path    string // "" : plain HTTP, no authentication
	log     *slog.Logger
	refused *prometheus.CounterVec
	limiter *rate.Limiter // nil: no rate_limit

	mu    sync.Mutex
	stamp stamp       // of the file cur was read from
	cur   *web.Config // last read; nil when err is set
	err   error       // why the file as it is now does not validate

	auth authCache
}

// stamp identifies one version of a file.
type stamp struct {
	mod  time.Time
	size int64
}

// Check validates the web configuration file at path exactly as New does:
// exporter-toolkit's web.Validate (YAML fields, bcrypt hashes, headers,
// certificate and key files loaded, client CA and client_auth_type), then
// its own parse. It returns the basic_auth_users names.
func Check(path string) ([]string, error) {
	c, err := load(path)
	if err != nil {
		return nil, err
	}
	users := make([]string, 0, len(c.Users))
	for u := range c.Users {
		users = append(users, u)
	}
	return users, nil
}

// New reads and validates the web configuration file at path ("" serves
// plain HTTP without authentication) and registers
// edgerelay_http_refused_requests_total on reg.
func New(path string, log *slog.Logger, reg prometheus.Registerer) (*Listener, error) {
	if log == nil {
		log = slog.Default()
	}
	l := &Listener{path: path, log: log, refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_http_refused_requests_total",
		Help: "HTTP requests refused, by reason: unauthorized (401, no or wrong basic_auth credentials), forbidden (403, a user the path or tenant is not for), rate_limited (429), web_config_invalid (500, the web config file no longer validates).",
	}, []string{"reason"})}
	for _, r := range []string{ReasonUnauthorized, ReasonForbidden, ReasonRateLimited, ReasonBadWebConfig} {
		l.refused.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(l.refused)
	}
	if path == "" {
		return l, nil
	}
	st, err := statFile(path)
	if err != nil {
		return nil, err
	}
	c, err := load(path)
	if err != nil {
		return nil, err
	}
	l.stamp, l.cur = st, c
	if rl := c.RateLimiterConfig; rl.Interval > 0 {
		l.limiter = rate.NewLimiter(rate.Every(rl.Interval), rl.Burst)
	}
	return l, nil
}

// Users reports whether the file, as last read, asks for basic
// authentication.
func (l *Listener) Users() bool {
	c, err := l.config()
	return err != nil || len(c.Users) > 0
}

// HasUser reports whether name is one of basic_auth_users as last read.
func (l *Listener) HasUser(name string) bool {
	c, err := l.config()
	if err != nil {
		return false
	}
	_, ok := c.Users[name]
	return ok
}

// TLS reports whether the listener serves TLS.
func (l *Listener) TLS() bool {
	c, err := l.config()
	return err == nil && c.TLSConfig.IsEnabled()
}

// Describe says in a few words what the listener requires, for status pages
// and logs.
func (l *Listener) Describe() string {
	if l.path == "" {
		return "plain HTTP, no authentication (no web_config_file)"
	}
	c, err := l.config()
	if err != nil {
		return "web config file invalid: every request refused (" + err.Error() + ")"
	}
	s := "plain HTTP"
	if c.TLSConfig.IsEnabled() {
		s = "TLS"
		if c.TLSConfig.ClientAuth != "" && c.TLSConfig.ClientAuth != "NoClientCert" {
			s += " (" + c.TLSConfig.ClientAuth + ")"
		}
	}
	if n := len(c.Users); n > 0 {
		return fmt.Sprintf("%s, basic auth (%d users)", s, n)
	}
	return s + ", no basic auth"
}

// config returns the file's content, reading it again when it changed.
func (l *Listener) config() (*web.Config, error) {
	if l.path == "" {
		return &web.Config{}, nil
	}
	st, err := statFile(l.path)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && st == l.stamp {
		return l.cur, l.err
	}
	if err == nil {
		var c *web.Config
		if c, err = load(l.path); err == nil {
			l.stamp, l.cur, l.err = st, c, nil
			l.auth.reset()
			l.log.Info("web config file read", "file", l.path, "users", len(c.Users), "tls", c.TLSConfig.IsEnabled())
			return c, nil
		}
	}
	if l.err == nil || l.err.Error() != err.Error() {
		l.log.Error("web config file does not validate; refusing requests until it does", "file", l.path, "err", err)
	}
	l.stamp, l.cur, l.err = st, nil, err
	return nil, err
}

func statFile(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// load validates the file with exporter-toolkit and parses it as
// exporter-toolkit does: strict YAML, TLS 1.2 to 1.3 and HTTP/2 by default,
// file paths relative to the file's directory.
func load(path string) (*web.Config, error) {
	if err := web.Validate(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, PreferServerCipherSuites: true},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return nil, err
	}
	if c.RateLimiterConfig.Interval < 0 || c.RateLimiterConfig.Burst < 0 {
		return nil, fmt.Errorf("rate_limit: interval and burst must be >= 0; got %s and %d", c.RateLimiterConfig.Interval, c.RateLimiterConfig.Burst)
	}
	if c.RateLimiterConfig.Interval > 0 && c.RateLimiterConfig.Burst == 0 {
		return nil, errors.New("rate_limit: burst must be at least 1 when interval is set, or every request is refused")
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	return c, nil
}
