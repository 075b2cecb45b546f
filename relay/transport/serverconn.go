package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// serveConn runs one edge connection to its end.
func (s *Server) serveConn(ctx context.Context, qc *quic.Conn) {
	s.m.connections.Inc()
	s.m.open.Inc()
	defer s.m.open.Dec()
	log := s.log.With("remote", qc.RemoteAddr().String())
	stop := context.AfterFunc(ctx, func() {
		qc.CloseWithError(quic.ApplicationErrorCode(CodeShutdown), "server shutting down")
	})
	defer stop()
	// Whatever ended the exchange, the connection ends with it.
	defer qc.CloseWithError(quic.ApplicationErrorCode(CodeNone), "")

	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	str, err := qc.AcceptStream(hctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			qc.CloseWithError(quic.ApplicationErrorCode(CodeTimeout), "no stream opened")
			log.Warn("transport: edge opened no stream", "err", err)
		}
		return
	}
	c := &serverConn{s: s, qc: qc, str: str, br: bufio.NewReaderSize(dataFirst{str}, readBufSize), log: log}
	peer, ok := c.hello()
	if !ok {
		return
	}
	defer s.release(peer)
	log = log.With("tenant", peer.Tenant, "site", peer.Site, "queue_id", peer.QueueID)
	c.log = log
	log.Info("transport: edge connected")
	c.blocks(ctx, peer)
}

type serverConn struct {
	s    *Server
	qc   *quic.Conn
	str  *quic.Stream
	br   *bufio.Reader
	wbuf []byte
	log  *slog.Logger
	// version is the protocol version agreed in HELLO/WELCOME.
	version uint16
	lanes   bool // WELCOME accepted lanes
}

// hello reads and answers the HELLO frame; ok is false when the connection
// was refused or broke.
func (c *serverConn) hello() (p Peer, ok bool) {
	c.str.SetReadDeadline(time.Now().Add(helloTimeout))
	f, err := readFrame(c.br, -1)
	c.str.SetReadDeadline(time.Time{})
	if err != nil {
		c.readFailed(err, "hello")
		return Peer{}, false
	}
	if f.typ != frameHello {
		c.malformed(CodeMalformed, fmt.Sprintf("first frame is type %#x, want HELLO", f.typ))
		return Peer{}, false
	}
	if f.version < minProtocolVersion {
		c.refuse(CodeVersion, fmt.Sprintf("protocol version %d not supported, want %d to %d", f.version, minProtocolVersion, ProtocolVersion))
		return Peer{}, false
	}
	c.version = min(f.version, ProtocolVersion)
	if c.s.cfg.Base == nil {
		c.version = min(c.version, 5)
	}
	p, err = c.s.cfg.Auth(f.hello, c.qc.ConnectionState().TLS)
	if err != nil {
		c.refuse(CodeRefused, err.Error())
		return Peer{}, false
	}
	p.Remote, p.Version = c.qc.RemoteAddr(), c.version
	if c.s.cfg.Redirect != nil {
		if rd := c.s.cfg.Redirect(p); rd != nil {
			c.redirect(rd)
			return Peer{}, false
		}
	}
	if why := c.s.admit(p); why != "" {
		c.refuse(CodeRefused, why)
		return Peer{}, false
	}
	c.lanes = c.version >= 3 && c.s.cfg.Lanes
	var held []Span
	if c.version >= 3 && c.s.cfg.Held != nil {
		held = validSpans(c.s.cfg.Held(p))
	}
	if c.write(&frame{typ: frameWelcome, version: c.version, maxBody: uint32(c.s.cfg.MaxBlockBytes), lanes: c.lanes, held: held}) != nil {
		c.s.release(p)
		return Peer{}, false
	}
	return p, true
}

// blocks hands BLOCK frames to the handler, those that arrived back to
// back as one group (group.go), until the edge stops, a frame is bad or
// the handler fails.
func (c *serverConn) blocks(ctx context.Context, p Peer) {
	var order seqOrder
	var next *frame
	for {
		f := next
		next = nil
		if f == nil {
			var err error
			if f, err = readFrame(c.br, c.s.cfg.MaxBlockBytes); err != nil {
				c.readEnded(err)
				return
			}
		}
		handle := c.s.cfg.Group
		switch {
		case f.typ == frameReplayed && c.version >= 6:
			p.Replayed[f.lane] = true
			continue
		case f.typ == frameBase && c.version >= 6:
			handle = OneByOne(c.s.cfg.Base)
		case !c.isBlock(f):
			c.malformed(CodeMalformed, fmt.Sprintf("frame type %#x after HELLO, want BLOCK", f.typ))
			return
		}
		if why := order.check(f); why != "" {
			c.malformed(CodeMalformed, why)
			return
		}
		group := []Block{c.take(f)}
		var readErr error
		var bad string
		if f.typ != frameBase {
			group, next, readErr, bad = c.more(group, &order)
		}
		c.s.m.groups.Inc()
		acks, err := handle(ctx, p, group)
		if !c.answer(group, acks, err) {
			return
		}
		switch {
		case readErr != nil:
			c.readEnded(readErr)
			return
		case bad != "":
			c.malformed(CodeMalformed, bad)
			return
		}
	}
}

// more adds to group the block frames that follow it without waiting
// (group.go). It stops at the first other frame, returned as next, at a
// read error, or at a block out of order (bad: why), which end the
// connection once the group is answered.
func (c *serverConn) more(group []Block, order *seqOrder) (_ []Block, next *frame, readErr error, bad string) {
	bytes := len(group[0].Data)
	for len(group) < maxGroupBlocks && bytes < maxGroupBytes && c.ready() {
		f, err := readFrame(c.br, c.s.cfg.MaxBlockBytes)
		if err != nil {
			return group, nil, err, ""
		}
		if !c.isBlock(f) {
			return group, f, nil, ""
		}
		if why := order.check(f); why != "" {
			return group, nil, nil, why
		}
		group = append(group, c.take(f))
		bytes += len(f.payload)
	}
	return group, nil, nil, ""
}

// take counts block frame f and returns it as a Block.
func (c *serverConn) take(f *frame) Block {
	c.s.m.blocks.Inc()
	c.s.m.bytes.Add(float64(len(f.payload)))
	return Block{Seq: f.seq, Lane: f.lane, Data: f.payload}
}

// seqOrder checks that block sequence numbers increase within each lane,
// BLOCK and BASE frames each on their own.
type seqOrder struct {
	last [2][2]uint64 // [base][lane]
	seen [2][2]bool
}

// check records f's seq; it returns why f is out of order, or "".
func (o *seqOrder) check(f *frame) string {
	k := 0
	if f.typ == frameBase {
		k = 1
	}
	if o.seen[k][f.lane] && f.seq <= o.last[k][f.lane] {
		return fmt.Sprintf("block seq %d after %d in lane %d: not increasing", f.seq, o.last[k][f.lane], f.lane)
	}
	o.seen[k][f.lane], o.last[k][f.lane] = true, f.seq
	return ""
}

// answer writes the ACKs of a group's blocks the handler made durable, in
// one write, and, when it failed the next one, its NACK (or sends the edge
// to another cloud); false ends the connection.
func (c *serverConn) answer(group []Block, acks []Ack, err error) bool {
	if len(acks) > len(group) || (err == nil) != (len(acks) == len(group)) {
		panic(fmt.Sprintf("BUG: handler answered %d of %d blocks with error %v", len(acks), len(group), err))
	}
	c.wbuf = c.wbuf[:0]
	for i, a := range acks {
		c.queue(ackFrame(group[i].Seq, a, c.version))
	}
	if err == nil {
		return c.flush() == nil
	}
	failed := group[len(acks)].Seq
	var rd *RedirectError
	if errors.As(err, &rd) && rd.Addr != "" && c.version >= 5 {
		// The block is not answered: the edge sends it to rd.Addr.
		if c.flush() == nil {
			c.redirect(rd)
		}
		return false
	}
	c.s.m.nacks.Inc()
	c.log.Warn("transport: handler failed a block; nack and close", "seq", failed, "err", err)
	// No STOP_SENDING: it could make the edge fail its own connection
	// before it has read the NACK. What it sends meanwhile is bounded by
	// flow control and ignored.
	c.queue(nackFrame(failed, err, c.version))
	if c.flush() == nil {
		c.str.Close()
		c.linger(CodeHandler, "handler failed block")
	}
	return false
}

// readEnded ends the connection after a failed read: at the edge's end of
// stream every block it sent is answered, so the server closes too.
func (c *serverConn) readEnded(err error) {
	if err == io.EOF {
		c.str.Close()
		c.linger(CodeNone, "")
		return
	}
	c.readFailed(err, "block")
}

func (c *serverConn) write(f *frame) error {
	c.wbuf = c.wbuf[:0]
	c.queue(f)
	return c.flush()
}

// queue appends f to the frames the next flush writes.
func (c *serverConn) queue(f *frame) {
	var err error
	if c.wbuf, err = appendFrame(c.wbuf, f); err != nil {
		panic(err) // BUG: the server only writes frames it can encode
	}
}

// flush writes the queued frames.
func (c *serverConn) flush() error {
	_, err := c.str.Write(c.wbuf)
	if err != nil {
		c.log.Debug("transport: write failed", "err", translate(err))
	}
	return err
}

// readFailed handles a read error: bad bytes close the connection with a
// code and are counted; a broken stream is only logged.
func (c *serverConn) readFailed(err error, what string) {
	switch {
	case errors.Is(err, errTooLarge):
		c.malformed(CodeTooLarge, err.Error())
	case errors.Is(err, errMalformed):
		c.malformed(CodeMalformed, err.Error())
	default:
		var nerr net.Error
		if what == "hello" && errors.As(err, &nerr) && nerr.Timeout() {
			c.qc.CloseWithError(quic.ApplicationErrorCode(CodeTimeout), "no HELLO in time")
		}
		c.log.Debug("transport: connection ended", "while", what, "err", translate(err))
	}
}

func (c *serverConn) malformed(code Code, reason string) {
	c.s.m.malformed.Inc()
	c.log.Warn("transport: malformed frame; closing connection", "code", code.String(), "reason", reason)
	c.qc.CloseWithError(quic.ApplicationErrorCode(code), truncate(reason, maxReasonLen))
}

// refuse answers the HELLO with an ERROR frame and closes.
func (c *serverConn) refuse(code Code, reason string) {
	c.s.m.refused.Inc()
	c.log.Warn("transport: edge refused", "code", code.String(), "reason", reason)
	if c.write(&frame{typ: frameError, code: code, reason: reason}) == nil {
		c.str.Close()
	}
	c.linger(code, reason)
}

// redirect sends the edge to the cloud serving its site (REDIRECT) and
// closes; an edge older than version 5, or a redirect without an address,
// is refused with the reason instead.
func (c *serverConn) redirect(rd *RedirectError) {
	if rd.Addr == "" || c.version < 5 {
		c.refuse(CodeRefused, rd.Error())
		return
	}
	c.log.Info("transport: edge sent to the cloud serving its site", "to", rd.Addr, "member", rd.Member, "reason", rd.Reason)
	if c.write(&frame{typ: frameRedirect, addr: rd.Addr, member: rd.Member, reason: rd.Reason}) == nil {
		c.str.Close()
	}
	c.linger(CodeRedirect, "redirected")
}

// linger waits for the edge to read the last frame and close, then closes.
func (c *serverConn) linger(code Code, reason string) {
	t := time.NewTimer(lingerTimeout)
	defer t.Stop()
	select {
	case <-c.qc.Context().Done():
	case <-t.C:
	}
	c.qc.CloseWithError(quic.ApplicationErrorCode(code), truncate(reason, maxReasonLen))
}

// validSpans keeps the spans a WELCOME may carry: sequence numbers from 1,
// each span after the last, the newest MaxHeldSpans.
func validSpans(in []Span) []Span {
	var out []Span
	for _, sp := range in {
		sp.From = max(sp.From, 1)
		if sp.To < sp.From || (len(out) > 0 && sp.From <= out[len(out)-1].To) {
			continue
		}
		out = append(out, sp)
	}
	return out[max(0, len(out)-MaxHeldSpans):]
}
