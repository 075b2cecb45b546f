// Package forward is the edge's uplink loop: it reads blocks from the
// store-and-forward queue, oldest first, ships them to the cloud over the
// transport, and acknowledges them in the queue once the cloud says they
// are durable there. It reconnects with capped exponential backoff and
// jitter, and after any disconnect or NACK resends everything not yet
// acknowledged (the cloud drops repeats by site, queue id and seq), so no
// block is skipped and none is deleted before the cloud has it.
//
// After an outage it can send live data beside the backlog: which block
// goes next, and how an answer is acknowledged in the queue, is asked of
// the queue's lanes (package lanes), which the forwarder creates and the
// edge's committer shares (Lanes).
//
// Concurrency: one Run at a time owns the queue's read and ack side;
// Connected may be called from any goroutine.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/lanes"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Queue is the part of *store.Queue the forwarder uses: its identity, and
// what its lanes read and acknowledge. A queue that also offers
// lanes.SplitQueue (*store.Queue does) can drain a backlog beside live
// data.
type Queue interface {
	lanes.Queue
	ID() uint64
}

// Defaults for zero Config fields.
const (
	DefaultMinBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxBatchBytes = 4 << 20
)

// Config configures a Forwarder.
type Config struct {
	// Client is how to reach the cloud; Hello.QueueID is filled from the
	// queue's ID.
	Client transport.ClientConfig
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts; 0 means 250ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Window is how many blocks may be unacknowledged; 0 keeps
	// Client.Window (itself defaulting to transport.DefaultWindow).
	Window int
	// MaxBatchBytes bounds the data read from the queue at once; 0 means
	// 4 MiB. A single larger block is still read.
	MaxBatchBytes int
	// MaxSendRate caps what is sent to the cloud, in bytes per second
	// (block payloads; backlog and live data alike); 0 means no cap. After
	// an idle spell a burst of one second's worth, or of one largest block,
	// goes at once.
	MaxSendRate int64
	// ReplayShare is the share of the bytes sent that goes to the backlog
	// while live data waits too, in (0, 1]; 0 means 1: the backlog drains
	// strictly first. Below 1, with a lanes.SplitQueue and a cloud that
	// takes lanes, a connection that finds more than a window's worth
	// queued asks for a split, which the queue's appender makes
	// (Lanes().Start); the backlog lane and the live lane then go side by
	// side, each oldest first.
	ReplayShare float64
	// OnConnect, when set, is called each time a connection is up, before
	// the first block is sent on it; canResync is false when the cloud
	// speaks a protocol version that cannot ask for a resync, and
	// deltaVersion is the newest delta frame version the cloud decodes.
	OnConnect func(canResync bool, deltaVersion int)
	// OnResync, when set, is called when the cloud asks the edge to start
	// its delta encoding afresh.
	OnResync func()
	// OnStall, when set, is called once per block the cloud has left
	// unanswered for StallTimeout (stall.go).
	OnStall func()
	// OnRefused, when set, is called with the count of an acknowledged
	// block's samples the cloud refused by a limit (transport.Ack.Refused).
	OnRefused  func(samples uint64)
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

// uplink is what the forwarder needs of a *transport.Conn.
type uplink interface {
	Send(ctx context.Context, seq uint64, data []byte) error
	SendLane(ctx context.Context, seq uint64, lane uint8, data []byte) error
	Lanes() bool
	Acks() <-chan transport.Ack
	Done() <-chan struct{}
	Err() error
	Close() error
	SentBytes() uint64
	CanResync() bool
	DeltaVersion() int
	Held() []transport.Span
	CanReplay() bool
	SendBase(ctx context.Context, seq uint64, lane uint8, data []byte) error
	Replayed(lane uint8) error
}

// Forwarder ships a queue to the cloud.
type Forwarder struct {
	q         Queue
	cfg       Config
	log       *slog.Logger
	m         *metrics
	lanes     *lanes.Lanes
	connected atomic.Bool
	running   atomic.Bool
	limit     *rate.Limiter // nil: no MaxSendRate
	// redirectTo is the cloud the last redirect named ("": the configured
	// address), hops the redirects followed in a row (redirect.go).
	redirectTo string
	hops       int
	// replay is what the next connection resends first, after a cloud
	// asked for delta bases (replay.go); replays counts such asks in a
	// row without a block acknowledged.
	replay  *replayNeed
	replays int

	// Replaced by tests.
	dial   func(ctx context.Context, cfg transport.ClientConfig) (uplink, error)
	jitter func() float64 // in [0, 1)
}

// New checks cfg and registers the metrics.
func New(q Queue, cfg Config) (*Forwarder, error) {
	if q == nil {
		return nil, errors.New("forward: queue is required")
	}
	if cfg.MaxSendRate < 0 {
		return nil, fmt.Errorf("forward: max_send_rate must be >= 0; got %d", cfg.MaxSendRate)
	}
	if !(cfg.ReplayShare >= 0 && cfg.ReplayShare <= 1) {
		return nil, fmt.Errorf("forward: replay_share must be in (0, 1]; got %v", cfg.ReplayShare)
	}
	if cfg.ReplayShare == 0 {
		cfg.ReplayShare = 1
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.Window < 0 || cfg.MaxBatchBytes < 0 {
		return nil, fmt.Errorf("forward: min_backoff, max_backoff, window and max_batch_bytes must be >= 0; got %v, %v, %d, %d",
			cfg.MinBackoff, cfg.MaxBackoff, cfg.Window, cfg.MaxBatchBytes)
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("forward: max_backoff must be >= min_backoff; got %v < %v", cfg.MaxBackoff, cfg.MinBackoff)
	}
	if cfg.Window > 0 {
		cfg.Client.Window = cfg.Window
	}
	if cfg.Client.Window <= 0 {
		cfg.Client.Window = transport.DefaultWindow
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	cfg.Client.Hello.QueueID = q.ID()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Client.Logger == nil {
		cfg.Client.Logger = log
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	var limit *rate.Limiter
	if cfg.MaxSendRate > 0 {
		block := int64(cfg.Client.MaxBlockBytes)
		if block == 0 {
			block = transport.DefaultMaxBlockBytes
		}
		burst := max(cfg.MaxSendRate, block)
		limit = rate.NewLimiter(rate.Limit(cfg.MaxSendRate), int(min(burst, math.MaxInt32)))
		limit.ReserveN(time.Now(), limit.Burst()) // start empty: no burst after a start
	}
	log = log.With("upstream", cfg.Client.Addr)
	return &Forwarder{
		q: q,
		lanes: lanes.New(q, lanes.Config{
			ReplayShare: cfg.ReplayShare, Window: cfg.Client.Window, MaxBatchBytes: cfg.MaxBatchBytes,
			Logger: log, Report: func(n int) { m.lanes.Set(float64(n)) },
		}),
		limit: limit,
		cfg:   cfg,
		log:   log,
		m:     m,
		dial: func(ctx context.Context, cc transport.ClientConfig) (uplink, error) {
			return transport.Dial(ctx, cc)
		},
		jitter: rand.Float64,
	}, nil
}

// Lanes returns the queue's lanes, whose Start the queue's appender calls
// before each append.
func (f *Forwarder) Lanes() *lanes.Lanes { return f.lanes }

// Connected reports whether an uplink connection is up now.
func (f *Forwarder) Connected() bool { return f.connected.Load() }

// Beside reports whether a backlog is being sent beside live data now.
func (f *Forwarder) Beside() bool { return f.lanes.Beside() }

// Run ships blocks until ctx is done, then closes the connection and
// returns nil. Unacknowledged blocks stay in the queue for the next Run,
// which may follow once Run returned (a paused uplink, a failover); two
// Runs at once are refused.
func (f *Forwarder) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("forward: Run called twice")
	}
	defer f.running.Store(false)
	backoff := f.cfg.MinBackoff
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		if attempt > 0 {
			f.m.reconnects.Inc()
		}
		dialed := time.Now()
		conn, err := f.dial(ctx, f.target())
		var wait time.Duration
		if err != nil {
			wait = f.wait(backoff)
			if !errors.Is(err, transport.ErrRefused) {
				// The wait counts from the start of an attempt the cloud
				// never answered (a handshake timing out while the link is
				// down): the attempt itself waited that long, and loaded
				// nothing but the link.
				wait = max(0, wait-time.Since(dialed))
			}
			if ctx.Err() != nil {
				return nil
			}
			if f.follow(err, false) {
				continue
			}
			kind := "dial"
			if errors.Is(err, transport.ErrRefused) {
				kind = "refused"
			}
			f.m.errors.WithLabelValues(kind).Inc()
			f.log.Warn("uplink connect failed", "err", err, "retry_in", wait.Round(time.Millisecond))
		} else {
			progressed, err := f.serve(ctx, conn)
			if ctx.Err() != nil {
				return nil
			}
			if f.follow(err, progressed) || f.replayNext(err, progressed) {
				backoff = f.cfg.MinBackoff
				continue
			}
			kind := errorKind(err)
			f.m.errors.WithLabelValues(kind).Inc()
			f.log.Warn("uplink session ended; resending unacknowledged blocks after backoff",
				"kind", kind, "err", err, "acked_through", f.lanes.Acked())
			if progressed {
				backoff = f.cfg.MinBackoff
			}
			wait = f.wait(backoff)
		}
		if !relay.Sleep(ctx, wait) {
			return nil
		}
		backoff = min(2*backoff, f.cfg.MaxBackoff)
	}
}

// serve ships blocks over conn, once it is up, until it ends; progressed
// is true when the cloud acknowledged a block.
func (f *Forwarder) serve(ctx context.Context, conn uplink) (progressed bool, err error) {
	defer conn.Close()
	f.m.sentBytes.Add(float64(conn.SentBytes()))
	f.setConnected(true)
	defer f.setConnected(false)
	if f.cfg.OnConnect != nil {
		f.cfg.OnConnect(conn.CanResync(), conn.DeltaVersion())
	}
	f.log.Info("uplink connected", "resume_after_seq", f.lanes.Acked())
	if err := f.dropHeld(conn.Held()); err != nil {
		f.log.Warn("could not remove blocks the cloud already holds; sending them again", "err", err)
	}
	if err := f.sendBases(ctx, conn); err != nil {
		return false, err
	}
	snd := f.lanes.Connect(conn.Lanes())
	defer snd.Close()
	return f.session(ctx, conn, snd)
}

// dropHeld deletes from the queue the blocks the cloud said it already
// holds, so they do not cross the link twice.
func (f *Forwarder) dropHeld(held []transport.Span) error {
	spans := make([]lanes.Span, len(held))
	for i, sp := range held {
		spans[i] = lanes.Span{From: sp.From, To: sp.To}
	}
	n, err := f.lanes.DropHeld(spans)
	if n > 0 {
		f.m.held.Add(float64(n))
		f.log.Info("the cloud already holds queued blocks (imported from a bundle, or acknowledgements lost): removed without sending them",
			"blocks", n)
	}
	return err
}

func (f *Forwarder) setConnected(up bool) {
	f.connected.Store(up)
	if up {
		f.m.connected.Set(1)
	} else {
		f.m.connected.Set(0)
	}
}

// wait returns a random duration in [d/2, d).
func (f *Forwarder) wait(d time.Duration) time.Duration {
	return d/2 + time.Duration(f.jitter()*float64(d/2))
}

// errorKind names why a session ended, for edgerelay_uplink_errors_total.
func errorKind(err error) string {
	var nack *transport.NackError
	var qe *queueError
	switch {
	case errors.As(err, &nack):
		return "nack"
	case errors.As(err, &qe):
		return "queue"
	case errors.Is(err, transport.ErrRefused):
		return "refused"
	}
	return "disconnect"
}

// queueError marks failures of the local queue.
type queueError struct{ err error }

func (e *queueError) Error() string { return "queue: " + e.err.Error() }
func (e *queueError) Unwrap() error { return e.err }
