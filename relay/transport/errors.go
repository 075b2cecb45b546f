package transport

import (
	"errors"
	"fmt"

	"github.com/quic-go/quic-go"
)

// Code is the reason carried by an ERROR frame and by the QUIC application
// error code a connection is closed with.
type Code uint16

// Codes; see PROTOCOL.md.
const (
	CodeNone      Code = 0x0 // normal close
	CodeRefused   Code = 0x1 // the Authenticator refused the HELLO
	CodeVersion   Code = 0x2 // unsupported protocol version
	CodeMalformed Code = 0x3 // undecodable frame or protocol violation
	CodeTooLarge  Code = 0x4 // frame longer than the receiver's limit
	CodeHandler   Code = 0x5 // the handler failed a block; a NACK was sent
	CodeShutdown  Code = 0x6 // the server is shutting down
	CodeTimeout   Code = 0x7 // no HELLO in time
	CodeRedirect  Code = 0x8 // another cloud of the cluster serves the site; a REDIRECT was sent
)

func (c Code) String() string {
	switch c {
	case CodeNone:
		return "none"
	case CodeRefused:
		return "refused"
	case CodeVersion:
		return "version"
	case CodeMalformed:
		return "malformed"
	case CodeTooLarge:
		return "too_large"
	case CodeHandler:
		return "handler"
	case CodeShutdown:
		return "shutdown"
	case CodeTimeout:
		return "timeout"
	case CodeRedirect:
		return "redirect"
	}
	return fmt.Sprintf("code_%#x", uint16(c))
}

var (
	// ErrRefused is wrapped by Dial's error when the server refused the
	// edge: its Authenticator said no, the protocol version is not
	// supported, or the TLS handshake was rejected by the server.
	ErrRefused = errors.New("refused by server")
	// ErrBlockTooLarge is wrapped by Send's error when a block is longer
	// than the smaller of the client's and the server's MaxBlockBytes;
	// nothing was sent.
	ErrBlockTooLarge = errors.New("block too large")
	// ErrClosed is Conn.Err after Close ended a connection that had not
	// failed before.
	ErrClosed = errors.New("closed")
)

// CloseError says why a peer ended a connection: an ERROR frame it sent or
// the application error code it closed the QUIC connection with.
type CloseError struct {
	Code   Code
	Reason string
	Remote bool // the peer closed; false when this side did
}

func (e *CloseError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	if e.Reason == "" {
		return fmt.Sprintf("connection closed (%s, %s)", e.Code, who)
	}
	return fmt.Sprintf("connection closed (%s, %s): %s", e.Code, who, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true for refusals.
func (e *CloseError) Is(target error) bool {
	return target == ErrRefused && (e.Code == CodeRefused || e.Code == CodeVersion)
}

// NackError is the Err of an Ack for a block the server's handler failed.
type NackError struct {
	Seq    uint64
	Reason string
	// NeedBase (protocol version 6): the block holds delta frames whose
	// bases the cloud lacks; resent after the blocks that build them
	// (Conn.SendBase, Conn.Replayed), it decodes.
	NeedBase bool
}

func (e *NackError) Error() string {
	return fmt.Sprintf("block %d not accepted: %s", e.Seq, e.Reason)
}

// translate turns quic-go's connection errors into this package's, so that
// no caller needs to import quic-go.
func translate(err error) error {
	var ae *quic.ApplicationError
	if errors.As(err, &ae) {
		return &CloseError{Code: Code(ae.ErrorCode), Reason: ae.ErrorMessage, Remote: ae.Remote}
	}
	var te *quic.TransportError
	if errors.As(err, &te) && te.Remote && te.ErrorCode.IsCryptoError() {
		return fmt.Errorf("%w: tls handshake: %w", ErrRefused, err)
	}
	return err
}

// RedirectError says another cloud of a cluster serves the edge's site
// (protocol version 5). On the edge it is Dial's error, or the Conn's Err
// after the blocks answered before it: the edge connects to Addr next. On
// the cloud, a Handler returns one to stop taking blocks of a site that
// has moved, and ServerConfig.Redirect one to send the edge on at HELLO;
// an empty Addr refuses the edge instead (no live cloud serves the site).
// An edge speaking an older version gets a refusal (at HELLO) or a NACK
// (at a block) with the same reason.
type RedirectError struct {
	Addr   string // host:port of the cloud serving the site
	Member string // its id in the cluster
	Reason string
}

func (e *RedirectError) Error() string {
	if e.Addr == "" {
		return "no cloud serves the site: " + e.Reason
	}
	return fmt.Sprintf("site served by cloud %q at %s: %s", e.Member, e.Addr, e.Reason)
}
