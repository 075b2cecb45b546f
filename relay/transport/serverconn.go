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
	c := &serverConn{s: s, qc: qc, str: str, br: bufio.NewReaderSize(str, readBufSize), log: log}
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

// blocks hands BLOCK frames to the handler until the edge stops, a frame is
// bad or the handler fails.
func (c *serverConn) blocks(ctx context.Context, p Peer) {
	var last, lastBase [2]uint64 // per lane
	var seen, seenBase [2]bool
	for {
		f, err := readFrame(c.br, c.s.cfg.MaxBlockBytes)
		if err == io.EOF {
			// The edge finished its side; every block it sent is answered.
			c.str.Close()
			c.linger(CodeNone, "")
			return
		}
		if err != nil {
			c.readFailed(err, "block")
			return
		}
		handle, last, seen := c.s.cfg.Handle, &last, &seen
		switch {
		case (f.typ == frameBase || f.typ == frameReplayed) && c.version >= 6:
			if f.typ == frameReplayed {
				p.Replayed[f.lane] = true
				continue
			}
			handle, last, seen = c.s.cfg.Base, &lastBase, &seenBase
		case f.typ != frameBlock && (f.typ != frameBlockLane || !c.lanes):
			c.malformed(CodeMalformed, fmt.Sprintf("frame type %#x after HELLO, want BLOCK", f.typ))
			return
		}
		if seen[f.lane] && f.seq <= last[f.lane] {
			c.malformed(CodeMalformed, fmt.Sprintf("block seq %d after %d in lane %d: not increasing", f.seq, last[f.lane], f.lane))
			return
		}
		seen[f.lane], last[f.lane] = true, f.seq
		c.s.m.blocks.Inc()
		c.s.m.bytes.Add(float64(len(f.payload)))
		a, err := handle(ctx, p, f.seq, f.lane, f.payload)
		var rd *RedirectError
		if errors.As(err, &rd) && rd.Addr != "" && c.version >= 5 {
			// The block is not answered: the edge sends it to rd.Addr.
			c.redirect(rd)
			return
		}
		if err != nil {
			c.s.m.nacks.Inc()
			c.log.Warn("transport: handler failed a block; nack and close", "seq", f.seq, "err", err)
			// No STOP_SENDING: it could make the edge fail its own
			// connection before it has read the NACK. What it sends
			// meanwhile is bounded by flow control and ignored.
			if c.write(nackFrame(f.seq, err, c.version)) == nil {
				c.str.Close()
				c.linger(CodeHandler, "handler failed block")
			}
			return
		}
		ack := ackFrame(f.seq, a, c.version)
		if c.write(ack) != nil {
			return
		}
	}
}

func (c *serverConn) write(f *frame) error {
	var err error
	c.wbuf, err = appendFrame(c.wbuf[:0], f)
	if err != nil {
		panic(err) // BUG: the server only writes frames it can encode
	}
	if _, err = c.str.Write(c.wbuf); err != nil {
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
