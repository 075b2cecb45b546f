// Package stream serves GET /api/v1/stream?match[]=<selector>: the cloud's
// rebuilt samples, streamed to a consumer as they are committed, as
// newline-delimited JSON (encode.go). The Hub is an output (package output)
// that acts only on committed blocks: each block is handed to every
// subscriber whose tenant it belongs to, by reference and without waiting;
// each subscriber's request goroutine matches the block's series against
// its selectors, encodes them and writes them.
//
// Every subscriber has a bounded buffer (Config.BufferSamples samples of
// queued blocks, at most maxQueued blocks): a block that does not fit cuts
// the subscriber off, with a last line saying why — a slow consumer never
// slows the receive path, and what it is sent is a gapless run of what the
// cloud committed. A write that takes longer than Config.WriteTimeout cuts
// it off too. Cut-offs are counted by reason.
//
// The Hub is safe for concurrent use: Committed is called concurrently for
// blocks of different sites; one site's blocks come in order, so one
// series' samples reach a subscriber in the order the cloud received them.
package stream

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxSubscribers = 64
	DefaultBufferSamples  = 100_000
	DefaultWriteTimeout   = 10 * time.Second
)

// maxQueued bounds a subscriber's queued blocks whatever their samples.
const maxQueued = 1024

// Reasons a subscriber is cut off: the label of
// edgerelay_stream_consumers_cut_off_total and the "end" of the last line.
const (
	ReasonSlow         = "slow"          // its buffer was full when a block came
	ReasonWriteTimeout = "write_timeout" // a write took longer than WriteTimeout
	ReasonShutdown     = "shutdown"      // the cloud is stopping
)

// Config configures a Hub.
type Config struct {
	// MaxSubscribers bounds concurrent streams; more are refused with 503.
	// Zero means DefaultMaxSubscribers (64).
	MaxSubscribers int
	// BufferSamples bounds what one subscriber may have queued, in samples
	// of the blocks waiting for it (a block is queued whole; one block is
	// always taken by an empty queue). Zero means DefaultBufferSamples.
	BufferSamples int
	// WriteTimeout bounds one write to a subscriber. Zero means
	// DefaultWriteTimeout (10s).
	WriteTimeout time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil means none.
	Registerer prometheus.Registerer
}

// Hub hands committed blocks to subscribers.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	parser parser.Parser
	m      metrics

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	// list is subs as a slice, replaced whole on every change, for
	// Committed to read without the lock.
	list atomic.Pointer[[]*subscriber]
}

// subscriber is one open stream.
type subscriber struct {
	tenant string // "" : every tenant's blocks
	sets   [][]*labels.Matcher
	queue  chan queued
	held   atomic.Int64 // samples in queue
	cut    chan struct{}
	once   sync.Once
	reason string // set before cut is closed
}

type queued struct {
	d       *output.Delivery
	samples int64
}

// New returns a Hub; Run must run for it to end streams at shutdown.
func New(cfg Config) *Hub {
	if cfg.MaxSubscribers <= 0 {
		cfg.MaxSubscribers = DefaultMaxSubscribers
	}
	if cfg.BufferSamples <= 0 {
		cfg.BufferSamples = DefaultBufferSamples
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, parser: parser.NewParser(parser.Options{}), subs: map[*subscriber]struct{}{}}
	h.list.Store(&[]*subscriber{})
	h.m = newMetrics(cfg.Registerer, h)
	return h
}

// The Hub is an output that acts on committed blocks.
var (
	_ output.Output    = (*Hub)(nil)
	_ output.Committer = (*Hub)(nil)
)

// Name is "stream".
func (h *Hub) Name() string { return "stream" }

// Deliver does nothing: subscribers see a block once it is committed.
func (h *Hub) Deliver(context.Context, *output.Delivery) error { return nil }

// Run waits for ctx to end, then ends every stream (reason shutdown) and
// refuses new ones.
func (h *Hub) Run(ctx context.Context) error {
	<-ctx.Done()
	h.mu.Lock()
	h.closed = true
	subs := *h.list.Load()
	h.mu.Unlock()
	for _, s := range subs {
		h.cutOff(s, ReasonShutdown)
	}
	return nil
}

// Committed queues d for every subscriber of its tenant, without waiting:
// a subscriber whose buffer cannot take it is cut off.
func (h *Hub) Committed(d *output.Delivery) {
	subs := *h.list.Load()
	if len(subs) == 0 {
		return
	}
	n := int64(0)
	for _, b := range d.Batches {
		n += int64(b.Samples())
	}
	if n == 0 {
		return
	}
	for _, s := range subs {
		if s.tenant != "" && s.tenant != d.Tenant {
			continue
		}
		if held := s.held.Add(n); held > n && held > int64(h.cfg.BufferSamples) {
			s.held.Add(-n)
			h.cutOff(s, ReasonSlow)
			continue
		}
		d.Keep() // read by s's goroutine after Committed returns
		select {
		case s.queue <- queued{d: d, samples: n}:
		default:
			s.held.Add(-n)
			h.cutOff(s, ReasonSlow)
		}
	}
}

// subscribe registers a stream; it returns nil when the Hub is closed or
// full (the caller answers 503).
func (h *Hub) subscribe(tenant string, sets [][]*labels.Matcher) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.subs) >= h.cfg.MaxSubscribers {
		return nil
	}
	s := &subscriber{tenant: tenant, sets: sets, queue: make(chan queued, maxQueued), cut: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.publish()
	return s
}

// unsubscribe removes s.
func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	h.publish()
}

// publish replaces list with subs; the caller holds mu.
func (h *Hub) publish() {
	l := make([]*subscriber, 0, len(h.subs))
	for s := range h.subs {
		l = append(l, s)
	}
	h.list.Store(&l)
}

// Subscribers is the number of open streams.
func (h *Hub) Subscribers() int { return len(*h.list.Load()) }

// cutOff ends s's stream for reason, once; the first reason counts. s
// gets no more blocks.
func (h *Hub) cutOff(s *subscriber, reason string) {
	s.once.Do(func() {
		s.reason = reason
		close(s.cut)
		h.m.cutOff.WithLabelValues(reason).Inc()
		h.unsubscribe(s)
	})
}

type metrics struct {
	samples  prometheus.Counter
	cutOff   *prometheus.CounterVec
	requests *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, h *Hub) metrics {
	m := metrics{
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_stream_samples_total", Help: "Samples written to /api/v1/stream subscribers (staleness markers not counted)."}),
		cutOff: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_stream_consumers_cut_off_total",
			Help: "Streams the cloud ended, by reason: slow (the subscriber's buffer was full), write_timeout, shutdown."}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_stream_requests_total", Help: "/api/v1/stream requests by HTTP status code (200: a stream was opened)."}, []string{"code"}),
	}
	for _, r := range []string{ReasonSlow, ReasonWriteTimeout, ReasonShutdown} {
		m.cutOff.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.samples, m.cutOff, m.requests, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgerelay_stream_subscribers", Help: "Open /api/v1/stream streams."},
			func() float64 { return float64(h.Subscribers()) }))
	}
	return m
}
