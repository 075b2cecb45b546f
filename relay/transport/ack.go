package transport

import "context"

// Acknowledgements: this file is where a block's answer is decided and
// read. The cloud's Handler returns an Ack (or an error, which becomes a
// NACK); the server turns it into the ACK frame the edge's protocol version
// can carry; the edge's Conn turns the frame back into an Ack on Acks.

// Ack answers one block. A Handler returns one for each block it made
// durable, with Resync and Refused set as needed; the server fills Seq and
// never reads Err. On the edge, Conn.Acks delivers one per block sent, in
// send order.
type Ack struct {
	Seq uint64
	Err error // nil: the block is durable at the cloud; *NackError: it is not
	// Resync: the cloud asks the edge to start its delta encoding afresh,
	// a new generation of full frames: it met a frame whose base it does
	// not hold (protocol version 2; edges speaking version 1 are not told,
	// they start a new generation on every connection instead).
	Resync bool
	// Refused is how many samples of the block the cloud refused by a
	// tenant limit or label check (protocol version 4; older edges are not
	// told). The block is durable all the same: what the cloud kept of it.
	Refused uint64
}

// Handler takes one block. It is called sequentially per connection, in
// the order the edge sent: in sequence order within each lane (0 or 1;
// always 0 unless ServerConfig.Lanes), the lanes possibly interleaved. It
// returns a nil error only once the block is durable; the edge deletes the
// block when it learns that. An error is answered with a NACK and ends the
// connection. data is owned by the handler.
type Handler func(ctx context.Context, p Peer, seq uint64, lane uint8, data []byte) (Ack, error)

// ackFrame is the ACK of block seq that a peer speaking version can read:
// the resync flag from version 2, the refused count from version 4.
func ackFrame(seq uint64, a Ack, version uint16) *frame {
	f := &frame{typ: frameAck, seq: seq, resync: a.Resync && version >= 2}
	if version >= 4 {
		f.refused = a.Refused
	}
	return f
}

// ackOf is the Ack an ACK or NACK frame carries.
func ackOf(f *frame) Ack {
	if f.typ == frameNack {
		return Ack{Seq: f.seq, Err: &NackError{Seq: f.seq, Reason: f.reason, NeedBase: f.needBase}}
	}
	return Ack{Seq: f.seq, Resync: f.resync, Refused: f.refused}
}
