// Package config is the schema of edgerelay's YAML configuration file: the
// edge and cloud roles, their defaults, and Validate, whose messages name the
// field and the bad value. Loading a configuration opens nothing: no file
// other than the configuration itself is read, no port is bound.
//
// Scrape configs (package scrapeconf) and remote_write configs
// (RemoteWriteConfig) take Prometheus' syntax, defaults and validation, so
// users paste what they have, without linking Prometheus' config package;
// a key of theirs that edgerelay does not act on is refused by name. What the configuration refers to (plugin modules,
// certificates, token files) is checked by each role's Check, which
// `edgerelay run` and `edgerelay check-config` both call.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// Config is a whole configuration file. Either role may be absent; at least
// one must be present.
type Config struct {
	Edge  *Edge  `yaml:"edge"`
	Cloud *Cloud `yaml:"cloud"`
}

// Edge configures the edge role.
type Edge struct {
	// Tenant names the tenant this edge belongs to. Required.
	Tenant string `yaml:"tenant"`
	// Site names this edge; every series gets site="<Site>". Required.
	Site string `yaml:"site"`
	// DataDir holds the queue and the plugin compilation cache; default ./data/edge.
	DataDir string `yaml:"data_dir"`
	// HTTPListen serves remote_write, /metrics, health and the status page; default 127.0.0.1:9201.
	HTTPListen string `yaml:"http_listen"`
	// WebConfigFile is a Prometheus web configuration file (TLS, basic
	// auth) for the HTTP listener; see web.go. Empty: plain HTTP, open.
	WebConfigFile string `yaml:"web_config_file"`
	Debug         Debug  `yaml:"debug"`
	// ExternalLabels are added to every series besides site; they never
	// override a label the series already has.
	ExternalLabels map[string]string `yaml:"external_labels"`
	// ScrapeConfigs are Prometheus scrape_configs, as written in prometheus.yml.
	ScrapeConfigs yaml.Node `yaml:"scrape_configs"`
	// Plugins is the ordered plugin chain.
	Plugins []PluginConfig `yaml:"plugins"`
	// RemoteWrite bounds the remote_write receiver.
	RemoteWrite RemoteWriteReceiver `yaml:"remote_write"`
	Queue       Queue               `yaml:"queue"`
	Upstream    Upstream            `yaml:"upstream"`
	// Upstreams are several cloud relays (upstreams.go), instead of
	// Upstream; UpstreamMode says how they share the queue: replicate (the
	// default) or failover, after FailoverAfter without progress (default
	// 30s).
	Upstreams     []UpstreamEntry `yaml:"upstreams"`
	UpstreamMode  string          `yaml:"upstream_mode"`
	FailoverAfter time.Duration   `yaml:"failover_after"`
	// Uplink pauses shipping on a schedule (metered links).
	Uplink Uplink `yaml:"uplink"`
	// ScrapeShard shares ScrapeConfigs with other edges of the site
	// (shard.go); nil: this edge scrapes every target.
	ScrapeShard *ScrapeShard `yaml:"scrape_shard"`

	// upstreamWritten and replayShareWritten say whether the file set
	// edge.upstream and edge.queue.replay_share; set before defaults.
	upstreamWritten, replayShareWritten bool

	// Scrape holds ScrapeConfigs as package scrapeconf reads them, with
	// Prometheus' defaults; set by Load.
	Scrape []*scrapeconf.ScrapeConfig `yaml:"-"`
	// Delta is the builtin:delta stage's configuration (or DefaultDelta),
	// taken out of Plugins by Load.
	Delta Delta `yaml:"-"`
}

// RemoteWriteReceiver bounds POST /api/v1/write.
type RemoteWriteReceiver struct {
	// MaxBodyBytes is the largest accepted request (compressed or not); default 32MiB.
	MaxBodyBytes Bytes `yaml:"max_body_bytes"`
}

// Queue configures the store-and-forward queue.
type Queue struct {
	// MaxBytes caps the queue on disk; past it the oldest blocks are dropped
	// and counted. Default 1GiB.
	MaxBytes Bytes `yaml:"max_bytes"`
	// MaxBlockBytes bounds one encoded block; default 4MiB.
	MaxBlockBytes Bytes `yaml:"max_block_bytes"`
	// MinFreeBytes is the free space the queue's filesystem must keep:
	// below it ingest is refused (remote_write 503) until space returns.
	// Default 64MiB.
	MinFreeBytes Bytes `yaml:"min_free_bytes"`
	// CommitInterval is how long ingest may wait to share one synced write
	// with other writers; default 5ms. A remote_write request while no
	// other is under way does not wait: its sender waits for the answer
	// before sending more, so nothing would join it.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// MaxSendRate caps the uplink in bytes per second, for thin or metered
	// links (an outage's backlog then drains no faster); 0, the default,
	// means no cap.
	MaxSendRate Bytes `yaml:"max_send_rate"`
	// ReplayShare is the share of the uplink's bytes a backlog gets while
	// live data waits too, after an outage: in (0, 1]. 1 drains the backlog
	// strictly first; below 1 the edge sends live data beside it (where
	// the cloud takes that; see cloud.remote_write_out_of_order), each
	// oldest first. Default 0.5.
	ReplayShare float64 `yaml:"replay_share"`
}

// Upstream is the cloud relay the edge ships to over QUIC.
type Upstream struct {
	// Address of the cloud relay's QUIC listener, host:port. Required.
	Address string `yaml:"address"`
	// ServerName checked against the cloud's certificate; default the host of Address.
	ServerName string `yaml:"server_name"`
	// CAFile is the CA that signed the cloud's certificate; empty: system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mTLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// TokenFile holds the bearer token identifying the tenant.
	TokenFile string `yaml:"token_file"`
	// InsecureSkipVerify disables server certificate checks (tests and demos only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Window is how many blocks may be unacknowledged at once; default 16.
	Window int `yaml:"window"`
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from min to max; defaults 250ms and 30s.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// Cloud configures the cloud role.
type Cloud struct {
	// QUICListen is where edges connect; default 127.0.0.1:4433.
	QUICListen string `yaml:"quic_listen"`
	// HTTPListen serves /federate, /metrics, health and the status page; default 127.0.0.1:9400.
	HTTPListen string `yaml:"http_listen"`
	// WebConfigFile is a Prometheus web configuration file (TLS, basic
	// auth) for the HTTP listener; its users are operators unless
	// federate.tenant_users confines them to a tenant. See web.go. Empty:
	// plain HTTP.
	WebConfigFile string `yaml:"web_config_file"`
	Debug         Debug  `yaml:"debug"`
	// DataDir holds the self-signed certificate and deduplication state; default ./data/cloud.
	DataDir string `yaml:"data_dir"`
	// FilesDir receives the zstats layout; default ./data/files.
	FilesDir string `yaml:"files_dir"`
	// FilesRetention removes scrape directories older than this; default 24h.
	FilesRetention time.Duration `yaml:"files_retention"`
	// CertFile and KeyFile are the server pair; empty: a self-signed pair
	// is made in DataDir and its fingerprint logged.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, requires client certificates signed by it,
	// and each certificate decides its edge's tenant and site (see
	// ClientIdentity): an edge claiming another is refused.
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientIdentity says where a client certificate names its tenant and
	// site: "auto" (the default) takes a URI SAN spiffe://<tenant>/<site>
	// when the certificate has one, else Subject O (tenant) and CN (site);
	// "spiffe" takes only the URI SAN; "subject" only O and CN.
	ClientIdentity string `yaml:"client_identity"`
	// RevokedFile lists edges no longer accepted, one per line: a client
	// certificate's SHA-256 fingerprint or serial number (hex, colons
	// optional), or tenant/site; '#' starts a comment. It is re-read when
	// it changes, so revoking needs no restart. Empty: none.
	RevokedFile string   `yaml:"revoked_file"`
	Federate    Federate `yaml:"federate"`
	// Tenants, when present, are the only tenants accepted, each proving
	// itself with the token in its TokenFile, or each of its sites with
	// the token of that site.
	Tenants []Tenant `yaml:"tenants"`
	// AllowUnauthenticated lets QUICListen reach beyond this host with
	// neither ClientCAFile nor Tenants (every edge taken at its word), and
	// HTTPListen with no WebConfigFile (/federate and /metrics open to
	// anyone who reaches them): for a network only trusted hosts reach.
	// Default false: such a configuration is refused (open.go).
	AllowUnauthenticated bool `yaml:"allow_unauthenticated"`
	// RemoteWrite forwards everything received, in Prometheus remote_write syntax.
	RemoteWrite yaml.Node `yaml:"remote_write"`
	// RemoteWriteOutOfOrder says the remote_write receivers accept samples
	// older than ones they already hold (VictoriaMetrics; Prometheus or
	// Mimir with out_of_order_time_window): edges may then send live data
	// beside their backlog (edge.queue.replay_share). Default false: with
	// remote_write configured, edges drain a backlog before live data, so
	// every series reaches the receivers in time order.
	RemoteWriteOutOfOrder bool `yaml:"remote_write_out_of_order"`
	// MaxBlockBytes bounds one block received; default 4MiB.
	MaxBlockBytes Bytes `yaml:"max_block_bytes"`
	// Limits bound what each tenant's edges can make the cloud hold or
	// do; see limits.go.
	Limits Limits `yaml:"limits"`
	// Notify announces new scrape directories; Stream serves
	// /api/v1/stream. See hooks.go.
	Notify Notify `yaml:"notify"`
	Stream Stream `yaml:"stream"`
	// Cluster, when set, makes this cloud one of several sharing the
	// sites; see cluster.go.
	Cluster *Cluster `yaml:"cluster"`

	// Chain forwards everything received to another cloud relay
	// (chain.go); nil: none. Relays are the relays this cloud accepts
	// blocks from on behalf of other tenants' edges.
	Chain  *Chain  `yaml:"chain"`
	Relays []Relay `yaml:"relays"`

	// Forward holds RemoteWrite's entries (rwconfig.go), and ForwardOut
	// each entry's edgerelay keys (remotewrite.go), index by index; set by
	// Load.
	Forward    []*RemoteWriteConfig `yaml:"-"`
	ForwardOut []RemoteWriteOut     `yaml:"-"`
}

// Federate configures GET /federate.
type Federate struct {
	// MaxAge drops series not refreshed within it; default 5m.
	MaxAge time.Duration `yaml:"max_age"`
	// TenantUsers maps basic_auth_users of cloud.web_config_file to the
	// one tenant whose series they read on /federate; they read nothing
	// else but the health checks. Other users are operators. See web.go.
	TenantUsers map[string]string `yaml:"tenant_users"`
}

// Tenant is one accepted tenant.
type Tenant struct {
	Name string `yaml:"name"`
	// TokenFile holds the tenant's token; with it, any site name the edge
	// gives is taken. Required unless Sites is set or client certificates
	// (cloud.client_ca_file) authenticate the tenant's edges alone.
	TokenFile string `yaml:"token_file"`
	// Sites, when present, are the tenant's only sites, each proving itself
	// with its own token: the token decides the site, not the edge.
	Sites []Site `yaml:"sites"`
	// Limits override cloud.limits for this tenant; zero fields keep them.
	Limits Limits `yaml:"limits"`
}

// Site is one accepted site of a tenant.
type Site struct {
	Name      string `yaml:"name"`
	TokenFile string `yaml:"token_file"`
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parse(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration, applies defaults and validates it. The
// returned error joins one error per problem (errors.Join).
func Parse(b []byte) (*Config, error) { return parse(b, "") }

func parse(b []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if c.Edge == nil && c.Cloud == nil {
		return nil, errors.New("neither edge: nor cloud: is configured")
	}
	c.applyDefaults()
	if err := errors.Join(c.Validate(), c.resolve(dir)); err != nil {
		return nil, err
	}
	return &c, nil
}

// Bytes is a size written as a number of bytes or with a unit ("64MiB", "1GB").
type Bytes int64

// UnmarshalYAML accepts an integer or a humanized size.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		return fmt.Errorf("line %d: %q is not a size: a size cannot be negative", n.Line, s)
	}
	v, err := humanize.ParseBytes(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a size: %w", n.Line, s, err)
	}
	*b = Bytes(v)
	return nil
}

// resolve parses the Prometheus-syntax parts; dir is the directory of the
// configuration file, against which relative paths resolve.
func (c *Config) resolve(dir string) error {
	var errs []error
	if e := c.Edge; e != nil {
		if err := e.splitDelta(); err != nil {
			errs = append(errs, err)
		}
	}
	if e := c.Edge; e != nil && e.ScrapeConfigs.Kind != 0 {
		errs = append(errs, e.resolveScrape(dir)...)
	}
	if cl := c.Cloud; cl != nil && cl.RemoteWrite.Kind != 0 {
		errs = append(errs, cl.resolveRemoteWrite(dir)...)
	}
	return errors.Join(errs...)
}

// resolveScrape reads edge.scrape_configs with package scrapeconf: each key
// edgerelay does not implement refused by name, and the other problems.
func (e *Edge) resolveScrape(dir string) []error {
	doc, err := yamlDoc("scrape_configs", &e.ScrapeConfigs)
	var sc *scrapeconf.Config
	if err == nil {
		sc, err = scrapeconf.Load(string(doc))
	}
	if err != nil {
		return scrapeErrors(err)
	}
	if dir != "" {
		sc.SetDirectory(filepath.Clean(dir))
	}
	e.Scrape = sc.ScrapeConfigs
	return nil
}

// scrapeErrors are scrapeconf.Load's err as edge.scrape_configs' problems:
// a refused key's line names its path, others the section.
func scrapeErrors(err error) []error {
	var errs []error
	var refused scrapeconf.RefusedErrors
	if errors.As(err, &refused) {
		for _, r := range refused {
			errs = append(errs, fmt.Errorf("edge.%w", r))
		}
	}
	parts := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(refused) > 0 {
		parts = j.Unwrap()
	}
	for _, p := range parts {
		if !errors.As(p, new(scrapeconf.RefusedErrors)) {
			errs = append(errs, fmt.Errorf("edge.scrape_configs: %w", oneLine(p)))
		}
	}
	return errs
}
