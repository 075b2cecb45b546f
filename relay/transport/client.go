package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// DefaultWindow is the number of unacknowledged blocks a Conn allows when
// ClientConfig.Window is zero.
const DefaultWindow = 16

// ClientConfig configures Dial. TLS is required.
type ClientConfig struct {
	Addr  string // the cloud's UDP address
	TLS   *tls.Config
	Hello Hello
	// Window is how many blocks may be unacknowledged; 0 means DefaultWindow.
	Window int
	// MaxBlockBytes bounds a block's payload; 0 means DefaultMaxBlockBytes.
	// The server's own limit, learnt from WELCOME, applies too.
	MaxBlockBytes int
	Logger        *slog.Logger
	// IdleTimeout closes a silent connection; 0 means
	// DefaultClientIdleTimeout. Keep-alives go every third of it.
	IdleTimeout time.Duration
}

// DefaultClientIdleTimeout is the edge's idle timeout: a cloud that died
// (SIGKILL, a lost host, a cut link) is noticed this long after its last
// packet, and the edge dials again. A cloud that is merely busy (a long
// block apply, a slow output) is not mistaken for dead: its QUIC stack
// answers the edge's keep-alives whatever its handler does. QUIC takes the
// lower of both ends' timeouts, and never less than three probe timeouts,
// so a link with long round trips stretches it.
const DefaultClientIdleTimeout = 6 * time.Second

// Conn is an authenticated uplink to a cloud relay. Send may be called from
// several goroutines (blocks go out in call order); Acks is read by one.
type Conn struct {
	qc       *quic.Conn
	str      *quic.Stream
	log      *slog.Logger
	maxBlock int
	version  uint16
	window   chan struct{} // a token per unacknowledged block
	acks     chan Ack
	done     chan struct{}
	closing  chan struct{}
	sent     atomic.Uint64

	lanes   bool   // WELCOME accepted lanes
	held    []Span // WELCOME: blocks the cloud already holds
	writeMu sync.Mutex
	hdr     [headerLen + 9]byte
	seen    [2]bool   // per lane: a block was sent
	lastSeq [2]uint64 // per lane

	mu       sync.Mutex
	inflight []uint64 // sent, not yet answered, oldest first
	err      error
	closeMu  sync.Once
}

// Dial connects to the cloud, says HELLO and returns once the server has
// answered WELCOME. A refusal returns an error wrapping ErrRefused.
func Dial(ctx context.Context, cfg ClientConfig) (*Conn, error) {
	if cfg.TLS == nil {
		return nil, errors.New("transport dial: TLS is required")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxBlockBytes <= 0 {
		cfg.MaxBlockBytes = DefaultMaxBlockBytes
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultClientIdleTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsConf := cfg.TLS.Clone()
	tlsConf.NextProtos = []string{ALPN}
	tlsConf.MinVersion = tls.VersionTLS13
	qc, err := quic.DialAddr(ctx, cfg.Addr, tlsConf, &quic.Config{
		HandshakeIdleTimeout:  dialIdleTimeout,
		MaxIdleTimeout:        cfg.IdleTimeout,
		KeepAlivePeriod:       cfg.IdleTimeout / 3,
		MaxIncomingStreams:    -1,
		MaxIncomingUniStreams: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Addr, translate(err))
	}
	c := &Conn{
		qc:      qc,
		log:     log.With("remote", cfg.Addr),
		window:  make(chan struct{}, cfg.Window),
		acks:    make(chan Ack, cfg.Window),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	br, err := c.handshake(ctx, cfg)
	if err != nil {
		qc.CloseWithError(quic.ApplicationErrorCode(CodeNone), "")
		return nil, fmt.Errorf("dial %s: %w", cfg.Addr, err)
	}
	go c.readAcks(br)
	return c, nil
}

func (c *Conn) handshake(ctx context.Context, cfg ClientConfig) (*bufio.Reader, error) {
	stop := context.AfterFunc(ctx, func() {
		c.qc.CloseWithError(quic.ApplicationErrorCode(CodeNone), "dial cancelled")
	})
	defer stop()
	str, err := c.qc.OpenStreamSync(ctx)
	if err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	c.str = str
	b, err := appendFrame(nil, &frame{typ: frameHello, version: ProtocolVersion, hello: cfg.Hello})
	if err != nil {
		return nil, err
	}
	if _, err := str.Write(b); err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	c.sent.Add(uint64(len(b)))
	str.SetReadDeadline(time.Now().Add(helloTimeout))
	br := bufio.NewReaderSize(dataFirst{str}, 4<<10)
	f, err := readFrame(br, -1)
	str.SetReadDeadline(time.Time{})
	if err != nil {
		return nil, c.ctxErr(ctx, err)
	}
	switch f.typ {
	case frameWelcome:
		if f.version < minProtocolVersion || f.version > ProtocolVersion {
			return nil, fmt.Errorf("%w: server speaks protocol version %d, want %d to %d", ErrRefused, f.version, minProtocolVersion, ProtocolVersion)
		}
		c.version = f.version
		c.lanes = f.lanes && f.version >= 3
		c.held = f.held
		if !stop() { // ctx ended meanwhile and closed the connection
			return nil, ctx.Err()
		}
		c.maxBlock = min(cfg.MaxBlockBytes, int(f.maxBody))
		return br, nil
	case frameError:
		return nil, &CloseError{Code: f.code, Reason: f.reason, Remote: true}
	case frameRedirect:
		return nil, &RedirectError{Addr: f.addr, Member: f.member, Reason: f.reason}
	}
	return nil, fmt.Errorf("%w: answer to HELLO is type %#x", errMalformed, f.typ)
}

// CanResync reports whether the cloud can ask for a resync (Ack.Resync):
// it speaks protocol version 2 or later. Otherwise the edge should start a
// new delta generation on every connection, in case the cloud lost its bases.
func (c *Conn) CanResync() bool { return c.version >= 2 }

// DeltaVersion returns the newest delta frame version (package
// internal/wire/delta) the cloud decodes: 3 when it speaks protocol
// version 7 or later, else 2. Blocks queued for a cloud must hold no
// newer frames, or it refuses them.
func (c *Conn) DeltaVersion() int {
	if c.version >= 7 {
		return 3
	}
	return 2
}

// Held returns the ranges of this edge's sequence numbers the cloud said
// in WELCOME it already holds durably (protocol version 3): those blocks
// need not be sent again.
func (c *Conn) Held() []Span { return c.held }

// Lanes reports whether the cloud takes blocks of two lanes interleaved
// (protocol version 3 and the cloud allows it): SendLane may then send
// lane 1.
func (c *Conn) Lanes() bool { return c.lanes }

func (c *Conn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return translate(err)
}

// Send writes one block of lane 0. It blocks while Window blocks are
// unacknowledged. seq must increase from call to call. A block longer than
// the negotiated limit is refused with ErrBlockTooLarge and the connection
// stays up; any other error (ctx done mid-write included) ends the
// connection.
func (c *Conn) Send(ctx context.Context, seq uint64, data []byte) error {
	return c.SendLane(ctx, seq, 0, data)
}

// SendLane is Send for a block of lane 0 or 1; seq must increase from call
// to call within a lane. Lane 1 needs Lanes.
func (c *Conn) SendLane(ctx context.Context, seq uint64, lane uint8, data []byte) error {
	if lane > 1 || (lane == 1 && !c.lanes) {
		return fmt.Errorf("send block %d: the cloud does not take lane %d", seq, lane)
	}
	typ := frameBlock
	if c.lanes {
		typ = frameBlockLane
	}
	return c.send(ctx, typ, seq, lane, data)
}

// send writes one frame carrying a block (BLOCK, BLOCK_LANE or BASE),
// answered in order like every other.
func (c *Conn) send(ctx context.Context, typ byte, seq uint64, lane uint8, data []byte) error {
	if len(data) > c.maxBlock {
		return fmt.Errorf("send block %d: %w: %d bytes, limit %d", seq, ErrBlockTooLarge, len(data), c.maxBlock)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return fmt.Errorf("send block %d: %w", seq, c.Err())
	}
	if err := ctx.Err(); err != nil { // a cancelled Send leaves the connection up
		<-c.window
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if typ != frameBase {
		if c.seen[lane] && seq <= c.lastSeq[lane] {
			<-c.window
			return fmt.Errorf("send block %d: sequence must increase, last was %d", seq, c.lastSeq[lane])
		}
		c.seen[lane], c.lastSeq[lane] = true, seq
	}
	c.mu.Lock()
	c.inflight = append(c.inflight, seq)
	c.mu.Unlock()

	stop := context.AfterFunc(ctx, func() {
		c.fail(CodeNone, fmt.Errorf("send cancelled: %w", ctx.Err()))
	})
	defer stop()
	hdr := c.hdr[:headerLen+8]
	if typ != frameBlock {
		hdr = c.hdr[:]
		hdr[headerLen+8] = lane
	}
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(hdr)-headerLen+len(data)))
	binary.BigEndian.PutUint64(hdr[headerLen:], seq)
	n, err := c.str.Write(hdr)
	c.sent.Add(uint64(n))
	if err == nil {
		n, err = c.str.Write(data)
		c.sent.Add(uint64(n))
	}
	if err != nil {
		err = translate(err)
		c.fail(CodeNone, err)
		return fmt.Errorf("send block %d: %w", seq, c.Err())
	}
	return nil
}

// Acks delivers one Ack per block sent, in order. It is closed when the
// connection ends; blocks sent but not answered by then were not acked.
func (c *Conn) Acks() <-chan Ack { return c.acks }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended; nil while it is up. After Close it is
// ErrClosed unless the connection had already failed.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection and waits for its reader. Unacked blocks stay
// unacked. It is idempotent and returns nil.
func (c *Conn) Close() error {
	c.fail(CodeNone, ErrClosed)
	<-c.done
	return nil
}

// SentBytes is the number of bytes written to the stream, framing included.
func (c *Conn) SentBytes() uint64 { return c.sent.Load() }

// fail records err as the reason the connection ended (the first reason
// wins) and closes it with code.
func (c *Conn) fail(code Code, err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.closeMu.Do(func() {
		close(c.closing)
		reason := ""
		if code != CodeNone {
			reason = err.Error()
		}
		c.qc.CloseWithError(quic.ApplicationErrorCode(code), truncate(reason, maxReasonLen))
	})
}

// readAcks reads the server's frames until the connection ends.
func (c *Conn) readAcks(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.acks)
	for {
		f, err := readFrame(br, -1)
		switch {
		case err == io.EOF:
			c.fail(CodeNone, errors.New("server ended the stream"))
			return
		case errors.Is(err, errMalformed):
			c.fail(CodeMalformed, err)
			return
		case err != nil:
			c.fail(CodeNone, translate(err))
			return
		}
		var a Ack
		switch f.typ {
		case frameAck, frameNack:
			a = ackOf(f)
		case frameError:
			c.fail(CodeNone, &CloseError{Code: f.code, Reason: f.reason, Remote: true})
			return
		case frameRedirect:
			// Blocks not answered yet go to the cloud it names.
			c.fail(CodeNone, &RedirectError{Addr: f.addr, Member: f.member, Reason: f.reason})
			return
		default:
			c.fail(CodeMalformed, fmt.Errorf("%w: unexpected frame type %#x from server", errMalformed, f.typ))
			return
		}
		c.mu.Lock()
		ok := len(c.inflight) > 0 && c.inflight[0] == a.Seq
		if ok {
			c.inflight = c.inflight[1:]
		}
		c.mu.Unlock()
		if !ok {
			c.fail(CodeMalformed, fmt.Errorf("%w: answer for block %d out of order", errMalformed, a.Seq))
			return
		}
		select {
		case c.acks <- a:
		case <-c.closing:
			select { // deliver it if there is room: an answer is never lost to a race
			case c.acks <- a:
			default:
			}
			return
		}
		<-c.window
	}
}
