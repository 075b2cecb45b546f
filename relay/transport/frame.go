package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types. See PROTOCOL.md.
const (
	frameHello   byte = 0x01
	frameWelcome byte = 0x02
	frameError   byte = 0x03
	frameBlock   byte = 0x04
	frameAck     byte = 0x05
	frameNack    byte = 0x06
	// frameBlockLane is BLOCK with a lane (version 3, when the cloud's
	// WELCOME accepts lanes).
	frameBlockLane byte = 0x07
	// frameRedirect (version 5) names the cloud of a cluster that serves
	// the edge's site, instead of a WELCOME or of a block's answer.
	frameRedirect byte = 0x08
	// frameBase (version 6) is an acknowledged block sent again so that
	// the cloud rebuilds its delta bases from it without writing it;
	// frameReplayed (version 6) ends the edge's resend of a lane's bases
	// (replay.go).
	frameBase     byte = 0x09
	frameReplayed byte = 0x0a
)

const (
	// ProtocolVersion is the newest version this package speaks: an edge
	// sends it in HELLO, the cloud answers in WELCOME with the lower of
	// its own and the edge's. Version 2 adds the resync flag to ACK;
	// version 3 adds lanes (WELCOME's flags, BLOCK_LANE); version 4 adds
	// the refused count to ACK; version 5 adds REDIRECT; version 6 adds
	// BASE, REPLAYED and NACK's need-base flag (replay.go); version 7
	// adds no frame: a cloud speaking it decodes delta frames of version
	// 3 (Conn.DeltaVersion).
	ProtocolVersion = 7
	// minProtocolVersion is the oldest version still spoken.
	minProtocolVersion = 1
	// ALPN is the TLS application protocol both ends negotiate.
	ALPN = "edgerelay/1"
	// DefaultMaxBlockBytes bounds a block's payload when the configuration
	// leaves MaxBlockBytes zero.
	DefaultMaxBlockBytes = 8 << 20

	headerLen = 5 // type (1) + body length (4, big endian)
	// maxControlBody bounds every frame but BLOCK.
	maxControlBody = 16 << 10
	// Field bounds inside HELLO, ERROR and NACK.
	maxNameLen   = 256
	maxTokenLen  = 4096
	maxReasonLen = 1024
)

// ackResync is the ACK flag (version 2) asking the edge to start a new
// delta generation.
const ackResync byte = 1 << 0

// ackRefused is the ACK flag (version 4) saying a u64 follows: how many
// samples of the block the cloud refused by a tenant limit or label check.
const ackRefused byte = 1 << 1

// welcomeLanes is the WELCOME flag (version 3) saying the cloud takes
// blocks of two lanes interleaved.
const welcomeLanes byte = 1 << 0

// MaxHeldSpans bounds the spans a WELCOME carries; a cloud holding more
// sends the newest.
const MaxHeldSpans = 512

// Span is a range of sequence numbers, From through To.
type Span struct{ From, To uint64 }

// errMalformed is wrapped by every decoding error caused by the bytes
// themselves (as opposed to the stream failing).
var errMalformed = errors.New("malformed frame")

// errTooLarge is wrapped (with errMalformed) when a frame announces a body
// longer than allowed.
var errTooLarge = errors.New("frame too large")

// frame is one decoded frame; which fields are meaningful depends on typ.
type frame struct {
	typ     byte
	version uint16 // HELLO, WELCOME
	hello   Hello  // HELLO
	maxBody uint32 // WELCOME: the server's max block payload
	lanes   bool   // WELCOME (version 3): the server takes lanes
	held    []Span // WELCOME (version 3): blocks of the edge's queue the cloud holds
	lane    uint8  // BLOCK_LANE
	code    Code   // ERROR
	seq     uint64 // BLOCK, ACK, NACK
	resync  bool   // ACK (version 2): the edge should start its delta encoding afresh
	refused uint64 // ACK (version 4): samples of the block refused at the cloud
	reason  string // ERROR, NACK, REDIRECT
	// needBase (NACK, version 6): the block needs delta bases the cloud
	// lacks; the edge should resend their blocks first (BASE).
	needBase bool
	addr     string // REDIRECT: where the cloud serving the site listens
	member   string // REDIRECT: that cloud's id in its cluster
	payload  []byte // BLOCK; freshly allocated, owned by the receiver
}

// appendFrame encodes f after dst. Strings longer than their bound are
// truncated for ERROR and NACK reasons and refused for HELLO fields.
func appendFrame(dst []byte, f *frame) ([]byte, error) {
	start := len(dst)
	dst = append(dst, f.typ, 0, 0, 0, 0)
	switch f.typ {
	case frameHello:
		h := &f.hello
		if len(h.Tenant) > maxNameLen || len(h.Site) > maxNameLen || len(h.Token) > maxTokenLen {
			return dst[:start], errors.New("hello: tenant, site or token too long")
		}
		dst = binary.BigEndian.AppendUint16(dst, f.version)
		dst = binary.BigEndian.AppendUint64(dst, h.QueueID)
		dst = appendString(dst, h.Tenant)
		dst = appendString(dst, h.Site)
		dst = appendString(dst, h.Token)
	case frameWelcome:
		dst = binary.BigEndian.AppendUint16(dst, f.version)
		dst = binary.BigEndian.AppendUint32(dst, f.maxBody)
		if f.version >= 3 {
			var flags byte
			if f.lanes {
				flags |= welcomeLanes
			}
			dst = append(dst, flags)
			held := f.held[max(0, len(f.held)-MaxHeldSpans):]
			dst = binary.BigEndian.AppendUint16(dst, uint16(len(held)))
			for _, sp := range held {
				dst = binary.BigEndian.AppendUint64(dst, sp.From)
				dst = binary.BigEndian.AppendUint64(dst, sp.To)
			}
		}
	case frameError:
		dst = binary.BigEndian.AppendUint16(dst, uint16(f.code))
		dst = appendString(dst, truncate(f.reason, maxReasonLen))
	case frameBlock:
		dst = binary.BigEndian.AppendUint64(dst, f.seq)
		dst = append(dst, f.payload...)
	case frameBlockLane:
		dst = binary.BigEndian.AppendUint64(dst, f.seq)
		dst = append(dst, f.lane)
		dst = append(dst, f.payload...)
	case frameAck:
		dst = binary.BigEndian.AppendUint64(dst, f.seq)
		var flags byte
		if f.resync {
			flags |= ackResync
		}
		if f.refused > 0 {
			flags |= ackRefused
		}
		if flags != 0 {
			dst = append(dst, flags)
		}
		if f.refused > 0 {
			dst = binary.BigEndian.AppendUint64(dst, f.refused)
		}
	case frameNack:
		dst = binary.BigEndian.AppendUint64(dst, f.seq)
		dst = appendString(dst, truncate(f.reason, maxReasonLen))
		if f.needBase {
			dst = append(dst, nackNeedBase)
		}
	case frameBase:
		dst = binary.BigEndian.AppendUint64(dst, f.seq)
		dst = append(dst, f.lane)
		dst = append(dst, f.payload...)
	case frameReplayed:
		dst = append(dst, f.lane)
	case frameRedirect:
		if len(f.addr) > maxNameLen || len(f.member) > maxNameLen {
			return dst[:start], errors.New("redirect: address or member too long")
		}
		dst = appendString(dst, f.addr)
		dst = appendString(dst, f.member)
		dst = appendString(dst, truncate(f.reason, maxReasonLen))
	default:
		return dst[:start], fmt.Errorf("BUG: encode unknown frame type %#x", f.typ)
	}
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-headerLen))
	return dst, nil
}

// readFrame reads one frame from r. A BLOCK body may be up to 8+maxBlock
// bytes (a negative maxBlock refuses BLOCK frames), any other body up to
// maxControlBody. Errors caused by the bytes
// wrap errMalformed; errors of r are returned as they are (io.EOF when the
// stream ended cleanly between frames).
func readFrame(r *bufio.Reader, maxBlock int) (*frame, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return nil, unexpectedEOF(err)
	}
	typ, n := hdr[0], binary.BigEndian.Uint32(hdr[1:])
	if typ < frameHello || typ > frameReplayed {
		return nil, fmt.Errorf("%w: unknown type %#x", errMalformed, typ)
	}
	limit := uint64(maxControlBody)
	if typ == frameBlock || typ == frameBlockLane || typ == frameBase {
		if maxBlock < 0 {
			return nil, fmt.Errorf("%w: unexpected BLOCK frame", errMalformed)
		}
		limit = 8 + uint64(maxBlock)
		if typ != frameBlock {
			limit++
		}
	}
	if uint64(n) > limit {
		return nil, fmt.Errorf("%w: %w: type %#x body %d bytes, limit %d", errMalformed, errTooLarge, typ, n, limit)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, unexpectedEOF(err)
	}
	return decodeBody(typ, body)
}

func unexpectedEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %w", errMalformed, io.ErrUnexpectedEOF)
	}
	return err
}

// decodeBody decodes the body of a frame of type typ. body is retained by
// BLOCK frames as their payload.
func decodeBody(typ byte, body []byte) (*frame, error) {
	d := decoder{b: body}
	f := &frame{typ: typ}
	switch typ {
	case frameHello:
		f.version = d.u16()
		f.hello.QueueID = d.u64()
		f.hello.Tenant = d.str(maxNameLen)
		f.hello.Site = d.str(maxNameLen)
		f.hello.Token = d.str(maxTokenLen)
	case frameWelcome:
		f.version = d.u16()
		f.maxBody = d.u32()
		if f.version >= 3 && d.need(1) { // version 3 flags and held spans
			flags := d.b[0]
			d.b = d.b[1:]
			if flags&^welcomeLanes != 0 {
				d.err = fmt.Errorf("unknown WELCOME flags %#x", flags)
			}
			f.lanes = flags&welcomeLanes != 0
			n := int(d.u16())
			if n > MaxHeldSpans {
				d.err = fmt.Errorf("%d held spans, limit %d", n, MaxHeldSpans)
			}
			for i := 0; i < n && d.err == nil; i++ {
				sp := Span{From: d.u64(), To: d.u64()}
				if d.err == nil && (sp.From == 0 || sp.To < sp.From || (i > 0 && sp.From <= f.held[i-1].To)) {
					d.err = fmt.Errorf("held span %d..%d out of order", sp.From, sp.To)
				}
				f.held = append(f.held, sp)
			}
		}
	case frameError:
		f.code = Code(d.u16())
		f.reason = d.str(maxReasonLen)
	case frameBlock, frameBlockLane, frameBase:
		f.seq = d.u64()
		if typ != frameBlock && d.need(1) {
			f.lane = d.b[0]
			d.b = d.b[1:]
			if f.lane > 1 {
				d.err = fmt.Errorf("lane %d", f.lane)
			}
		}
		if d.err == nil {
			f.payload = d.b
			d.b = nil
		}
	case frameAck:
		f.seq = d.u64()
		if d.err == nil && len(d.b) > 0 { // version 2 flags
			flags := d.b[0]
			d.b = d.b[1:]
			if flags&^(ackResync|ackRefused) != 0 || flags == 0 { // none set: the byte is left out
				d.err = fmt.Errorf("unknown ACK flags %#x", flags)
			}
			f.resync = flags&ackResync != 0
			if flags&ackRefused != 0 {
				if f.refused = d.u64(); d.err == nil && f.refused == 0 {
					d.err = errors.New("ACK refused count 0 with its flag set")
				}
			}
		}
	case frameNack:
		f.seq = d.u64()
		f.reason = d.str(maxReasonLen)
		if d.err == nil && len(d.b) > 0 { // version 6 flags
			if d.b[0] != nackNeedBase {
				d.err = fmt.Errorf("unknown NACK flags %#x", d.b[0])
			}
			f.needBase = true
			d.b = d.b[1:]
		}
	case frameReplayed:
		if d.need(1) {
			f.lane = d.b[0]
			d.b = d.b[1:]
			if f.lane > 1 {
				d.err = fmt.Errorf("lane %d", f.lane)
			}
		}
	case frameRedirect:
		f.addr = d.str(maxNameLen)
		f.member = d.str(maxNameLen)
		f.reason = d.str(maxReasonLen)
		if d.err == nil && f.addr == "" {
			d.err = errors.New("REDIRECT without an address")
		}
	default:
		return nil, fmt.Errorf("%w: unknown type %#x", errMalformed, typ)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: type %#x: %w", errMalformed, typ, d.err)
	}
	return f, nil
}
