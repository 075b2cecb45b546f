package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// Replaying delta bases (protocol version 6). A cloud that takes over a
// site from a cloud that died lacks the delta bases of the generation the
// edge is in: the frames the edge encoded against them, and the dead cloud
// never acknowledged, would be lost. Instead the cloud NACKs the first
// block needing a base it lacks, with the need-base flag, and closes. The
// edge, which keeps the acknowledged blocks of its current generation,
// connects again and first sends those blocks as BASE frames (answered
// like blocks); the cloud applies their frames to its bases without
// writing anything, since the dead cloud wrote them. A REPLAYED frame then
// says the edge has sent all it kept for the lane; from then on, on that
// connection, a frame whose base is still missing is lost as before
// versions 6 (counted, the block acknowledged with the resync flag), so an
// edge that kept nothing cannot be asked forever.

// nackNeedBase is the NACK flag (version 6): the block needs delta bases
// the cloud lacks.
const nackNeedBase byte = 1 << 0

// NeedBaseError is what a Handler returns for a block holding delta frames
// whose bases it lacks, when the edge can resend them (Peer.CanReplay):
// the block is answered with a NACK carrying the need-base flag.
type NeedBaseError struct {
	Lane   uint8
	Reason string
}

func (e *NeedBaseError) Error() string { return e.Reason }

// CanReplay reports whether the edge may still be asked, on this
// connection, to resend the blocks building the delta bases of lane: it
// speaks protocol version 6 and has not said it sent all it kept
// (REPLAYED).
func (p Peer) CanReplay(lane uint8) bool { return p.Version >= 6 && !p.Replayed[lane&1] }

// CanReplay reports whether the cloud takes BASE and REPLAYED frames
// (protocol version 6).
func (c *Conn) CanReplay() bool { return c.version >= 6 }

// SendBase sends an acknowledged block again, as a BASE frame of lane (the
// lane its blocks were sent in), so that the cloud rebuilds its delta
// bases from it without writing it; answered in order like blocks. It
// needs CanReplay.
func (c *Conn) SendBase(ctx context.Context, seq uint64, lane uint8, data []byte) error {
	if !c.CanReplay() || lane > 1 {
		return fmt.Errorf("send base %d: the cloud does not take BASE frames of lane %d", seq, lane)
	}
	return c.send(ctx, frameBase, seq, lane, data)
}

// Replayed tells the cloud the edge has sent (SendBase) every block it
// kept for lane's bases. It needs CanReplay.
func (c *Conn) Replayed(lane uint8) error {
	if !c.CanReplay() || lane > 1 {
		return fmt.Errorf("replayed: the cloud does not take REPLAYED frames of lane %d", lane)
	}
	var b [headerLen + 1]byte
	b[0] = frameReplayed
	binary.BigEndian.PutUint32(b[1:], 1)
	b[headerLen] = lane
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	n, err := c.str.Write(b[:])
	c.sent.Add(uint64(n))
	if err != nil {
		err = translate(err)
		c.fail(CodeNone, err)
		return fmt.Errorf("replayed: %w", c.Err())
	}
	return nil
}

// nackFrame is the NACK of block seq for the handler's error err: with the
// need-base flag when err is a NeedBaseError and the edge speaks version 6.
func nackFrame(seq uint64, err error, version uint16) *frame {
	var nb *NeedBaseError
	return &frame{typ: frameNack, seq: seq, reason: err.Error(), needBase: errors.As(err, &nb) && version >= 6}
}
