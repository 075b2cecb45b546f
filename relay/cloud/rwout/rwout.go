// Package rwout forwards what the cloud receives to remote_write endpoints
// (Mimir, Cortex, Thanos Receive, VictoriaMetrics, Prometheus), configured
// in Prometheus' remote_write syntax, through a durable queue of its own
// per endpoint.
//
// Deliver encodes a block's samples (write_relabel_configs applied) into
// the output's queue on the cloud's disk (package store, under
// data_dir/remote_write/<name>) and returns once they are durable, so the
// cloud acknowledges the edge without waiting for the endpoint; a block an
// edge delivers again (same tenant, site, queue id and sequence as one
// queued) is skipped. Run drains the queue at the endpoint's pace
// (drain.go): series are spread over shards by a hash of their labels, so
// each series' samples stay in order, and each shard sends requests of up
// to queue_config.max_samples_per_send, retrying 5xx, 429 and network
// errors with backoff from min_backoff to max_backoff, or the endpoint's
// Retry-After (send.go). A 4xx other than 429 (and a 429 when
// retry_on_http_429 is false) drops the request's samples, counted by
// reason and logged. A queue entry is acknowledged only once every sample
// in it was sent or dropped, and nothing is sent twice short of a crash.
// The queue is bounded by queue_max_bytes: past it the oldest blocks go,
// counted. A slow or absent endpoint therefore holds nothing at the edges
// nor at the other outputs.
//
// Metadata (HELP, TYPE, UNIT of each metric family) rides with the
// samples, as metadata.go decides; native histograms and exemplars as
// native.go says. With tenant_header (an edgerelay key of the entry), each
// request carries one tenant's series and names it in that header.
//
// A Forwarder is safe for concurrent use: Deliver from many goroutines,
// Run once, Close last.
package rwout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/edgerelay/edgerelay/internal/fsutil"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/store"
)

// Forwarder is one remote_write output: its queue and its senders.
type Forwarder struct {
	name    string
	url     string
	client  *http.Client
	headers map[string]string
	timeout time.Duration
	relabel []*relabel.Config
	log     *slog.Logger
	meta    *metadataSender // nil: metadata_config.send is false
	maxMeta int             // metadata entries per request
	tenantH string          // tenant_header; "" sends no tenant header
	q       queueConfig
	maxQ    int64 // queue_max_bytes
	reg     prometheus.Registerer

	sendHistograms, sendExemplars bool        // send_native_histograms, send_exemplars
	warned                        atomic.Bool // withheld histograms or exemplars logged

	m       metrics
	encs    encoders
	queue   *store.Queue
	barrier *fsutil.Barrier // makes the queue's writes durable; nil: the queue syncs them
	recent  *recent
	lastErr lastError
}

// queueConfig is queue_config with defaults applied.
type queueConfig struct {
	capacity, minShards, maxShards, maxSamples int
	deadline, minBackoff, maxBackoff, ageLimit time.Duration
	retry429                                   bool
}

// Options tune a Forwarder beyond Prometheus' remote_write config.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Out holds the entry's edgerelay keys (tenant_header,
	// queue_max_bytes, how retry_on_http_429 was written).
	Out config.RemoteWriteOut
}

// New builds a forwarder for cfg; it opens nothing (see Open), so
// check-config builds it too and refuses what run would.
func New(cfg *config.RemoteWriteConfig, o Options) (*Forwarder, error) {
	name := cfg.Name
	if name == "" {
		name = cfg.URL.String()
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("remote_write %s: %w", name, err)
	}
	f := &Forwarder{
		name: name, url: cfg.URL.String(), client: client, headers: cfg.Headers,
		timeout: time.Duration(cfg.RemoteTimeout), relabel: cfg.WriteRelabelConfigs, log: o.Logger,
		sendHistograms: cfg.SendNativeHistograms, sendExemplars: cfg.SendExemplars,
		tenantH: o.Out.TenantHeader, maxQ: int64(o.Out.QueueMaxBytes), reg: o.Registerer,
		q: newQueueConfig(cfg.QueueConfig, o.Out.RetryOn429), recent: newRecent(recentBlocks),
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	f.log = f.log.With("remote", name)
	if mc := cfg.MetadataConfig; mc.Send {
		interval := time.Duration(mc.SendInterval)
		if interval <= 0 {
			interval = time.Duration(config.DefaultMetadataConfig.SendInterval)
		}
		f.meta = newMetadataSender(interval)
		f.maxMeta = mc.MaxSamplesPerSend
		if f.maxMeta <= 0 {
			f.maxMeta = config.DefaultMetadataConfig.MaxSamplesPerSend
		}
	}
	if f.timeout <= 0 {
		f.timeout = 30 * time.Second
	}
	if f.maxQ <= 0 {
		f.maxQ = config.DefaultRemoteWriteQueueMaxBytes
	}
	f.encs = newEncoders(f)
	f.m = newMetrics(o.Registerer, name)
	return f, nil
}

// newClient builds the HTTP client of cfg: Prometheus' HTTP client
// settings (basic_auth, authorization, oauth2, tls_config, proxy_url, ...),
// then, in the full build, SigV4 signing when sigv4 is set, as Prometheus
// does (sigv4_full.go).
func newClient(cfg *config.RemoteWriteConfig) (*http.Client, error) {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "edgerelay_remote_write")
	if err != nil {
		return nil, err
	}
	client.Transport, err = signed(cfg, client.Transport)
	if err != nil {
		return nil, err
	}
	return client, nil
}

func newQueueConfig(qc config.QueueConfig, retry429 *bool) queueConfig {
	d := config.DefaultQueueConfig
	pick := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		return v
	}
	c := queueConfig{
		maxSamples: pick(qc.MaxSamplesPerSend, d.MaxSamplesPerSend),
		maxShards:  pick(qc.MaxShards, d.MaxShards),
		minShards:  pick(qc.MinShards, d.MinShards),
		deadline:   pickD(time.Duration(qc.BatchSendDeadline), time.Duration(d.BatchSendDeadline)),
		minBackoff: pickD(time.Duration(qc.MinBackoff), time.Duration(d.MinBackoff)),
		maxBackoff: pickD(time.Duration(qc.MaxBackoff), time.Duration(d.MaxBackoff)),
		ageLimit:   time.Duration(qc.SampleAgeLimit),
		retry429:   retry429 == nil || *retry429,
	}
	c.capacity = pick(qc.Capacity, max(d.Capacity, c.maxSamples))
	c.minShards = min(c.minShards, c.maxShards)
	return c
}

// Forwarder is one of the cloud's remote_write outputs.
var _ output.Output = (*Forwarder)(nil)

// Name is "remote_write " and the endpoint's name (or URL).
func (f *Forwarder) Name() string { return "remote_write " + f.name }

// Open opens (creating) the output's queue in dir; blocks it holds are
// sent by Run. Call it once, before Deliver.
func (f *Forwarder) Open(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("remote_write %s: %w", f.name, err)
	}
	// Where syncfs works, the queue's writes are made durable by the
	// barrier of its filesystem, shared with every block's other writes of
	// the moment (the files, the delta bases), rather than synced alone.
	br, err := fsutil.BarrierFor(dir, syncWindow)
	if err != nil {
		return fmt.Errorf("remote_write %s: %w", f.name, err)
	}
	if br.Syncfs() {
		f.barrier = br
	}
	q, err := store.Open(dir, store.Options{MaxBytes: f.maxQ, Logger: f.log, OnDrop: f.onDrop, SyncByCaller: f.barrier != nil})
	if err != nil {
		return fmt.Errorf("remote_write %s: %w", f.name, err)
	}
	f.queue = q
	f.rememberQueued()
	f.registerQueue(f.reg)
	return nil
}

// Close closes the queue; call it after Run returned.
func (f *Forwarder) Close() error {
	if f.queue == nil {
		return nil
	}
	return f.queue.Close()
}

// Deliver queues every sample of d durably (see the package doc) and
// returns once they are; a block already queued is skipped.
func (f *Forwarder) Deliver(ctx context.Context, d *output.Delivery) error {
	return f.DeliverAll(ctx, []*output.Delivery{d})
}

// sync makes what the queue holds durable, when the queue does not sync
// its writes itself.
func (f *Forwarder) sync() error {
	if f.barrier == nil {
		return nil
	}
	if err := f.barrier.Sync(); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// syncWindow is how long the barrier of the queue's filesystem waits for
// more writers, when it is this output that makes it (the cloud's own
// barriers, made first, wait as long).
const syncWindow = 10 * time.Millisecond

// append stores recs in one call or, when they exceed queue_max_bytes
// together, one by one (the cap then drops the oldest, this block's first
// records too, counted); a record larger than the queue alone is dropped,
// counted and logged, so that no block is held at its edge for good.
func (f *Forwarder) append(recs []store.Record) error {
	_, err := f.queue.Append(recs...)
	if !errors.Is(err, store.ErrTooLarge) {
		return err
	}
	for _, r := range recs {
		_, err := f.queue.Append(r)
		if errors.Is(err, store.ErrTooLarge) {
			f.m.dropped.WithLabelValues(reasonQueueFull).Add(float64(r.Samples))
			f.log.Error("remote_write: a block part larger than queue_max_bytes dropped", "bytes", len(r.Data),
				"samples", r.Samples, "queue_max_bytes", f.maxQ)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// onDrop counts blocks the queue dropped for queue_max_bytes.
func (f *Forwarder) onDrop(d store.Dropped) {
	f.m.dropped.WithLabelValues(reasonQueueFull).Add(float64(d.Samples))
	f.log.Warn("remote_write queue full (queue_max_bytes): dropped its oldest samples", "blocks", d.Blocks,
		"samples", d.Samples, "bytes", d.Bytes, "queue_max_bytes", f.maxQ)
}

// lastError remembers when a send last failed recoverably, so the shards
// are not multiplied against an endpoint that is struggling.
type lastError struct {
	mu sync.Mutex
	at time.Time
}

func (l *lastError) set(t time.Time) {
	l.mu.Lock()
	l.at = t
	l.mu.Unlock()
}

func (l *lastError) since() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(l.at)
}
