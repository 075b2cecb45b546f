package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// Groups of blocks: an edge pipelines up to a window of blocks, so while
// the cloud makes one durable the next ones arrive. The server hands the
// blocks that are already there when it takes a block to the handler
// together (GroupHandler), so that what a block costs once — writing
// files, syncing, recording its mark — is paid once per group. Nothing
// waits for a group to fill: a lone block is handled at once. Answers
// stay one per block, in order, as PROTOCOL.md says; the edge sees no
// difference.

// Block is one BLOCK or BLOCK_LANE frame handed to a GroupHandler.
type Block struct {
	Seq  uint64
	Lane uint8
	Data []byte // owned by the handler
}

// GroupHandler takes blocks one connection sent back to back, in the
// order sent. It returns the answers of the blocks it made durable, a
// prefix of blocks in order; a non-nil error fails the block after them
// (blocks[len(acks)]), which is answered with a NACK (or, for a
// *RedirectError, not answered), and the blocks after it are not
// answered: the edge sends them again. A failed block, and every block
// after it, must leave nothing behind that a resend would not redo: they
// are handled again as if never seen. It is called sequentially per
// connection.
type GroupHandler func(ctx context.Context, p Peer, blocks []Block) ([]Ack, error)

// OneByOne is the GroupHandler that hands each block of a group to h in
// turn and stops at the first failure.
func OneByOne(h Handler) GroupHandler {
	return func(ctx context.Context, p Peer, blocks []Block) ([]Ack, error) {
		acks := make([]Ack, 0, len(blocks))
		for _, b := range blocks {
			a, err := h(ctx, p, b.Seq, b.Lane, b.Data)
			if err != nil {
				return acks, err
			}
			acks = append(acks, a)
		}
		return acks, nil
	}
}

const (
	// maxGroupBlocks and maxGroupBytes bound a group: the blocks read
	// ahead of their answers, held in memory at once (the last block may
	// pass maxGroupBytes by up to MaxBlockBytes).
	maxGroupBlocks = 64
	maxGroupBytes  = 1 << 20
	// groupWait is how long the server looks for a next frame that has
	// not begun to arrive before it handles the group it holds.
	groupWait = 100 * time.Microsecond
)

// ready reports whether the next frame has begun to arrive, waiting at
// most groupWait for it.
func (c *serverConn) ready() bool {
	if c.br.Buffered() > 0 {
		return true
	}
	// quic-go refuses to read past a deadline even when data is there, so
	// the deadline lies a little ahead rather than now.
	c.str.SetReadDeadline(time.Now().Add(groupWait))
	_, err := c.br.Peek(1)
	c.str.SetReadDeadline(time.Time{})
	return err == nil
}

// dataFirst reads a stream for a bufio.Reader that read deadlines come
// and go under (ready, the HELLO's timeout). A stream read can return data
// together with the deadline's timeout; bufio.Reader keeps such an error
// and returns it once the data is used up, long after the deadline was
// cleared, ending a healthy connection. dataFirst returns the data alone:
// a read past the deadline that finds nothing still times out.
type dataFirst struct{ r io.Reader }

func (r dataFirst) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	var nerr net.Error
	if n > 0 && errors.As(err, &nerr) && nerr.Timeout() {
		err = nil
	}
	return n, err
}

// isBlock reports whether f is a block frame a group may hold.
func (c *serverConn) isBlock(f *frame) bool {
	return f.typ == frameBlock || (f.typ == frameBlockLane && c.lanes)
}
