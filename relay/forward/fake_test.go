package forward

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

// memQueue is an in-memory Queue with store.Queue's semantics.
type memQueue struct {
	mu      sync.Mutex
	blocks  []store.Block
	next    uint64
	acks    []uint64 // every AckThrough call
	changed chan struct{}
}

func newMemQueue() *memQueue { return &memQueue{next: 1, changed: make(chan struct{})} }

// add appends n blocks of size bytes with samples samples each.
func (q *memQueue) add(n, size, samples int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		data := []byte(fmt.Sprintf("block-%d-", q.next))
		for len(data) < size {
			data = append(data, 'x')
		}
		q.blocks = append(q.blocks, store.Block{Seq: q.next, Data: data, Samples: samples})
		q.next++
	}
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *memQueue) Read(after uint64, maxBlocks, maxBytes int) ([]store.Block, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []store.Block
	bytes := 0
	for _, b := range q.blocks {
		if b.Seq <= after {
			continue
		}
		if len(out) > 0 && ((maxBlocks > 0 && len(out) >= maxBlocks) || (maxBytes > 0 && bytes+len(b.Data) > maxBytes)) {
			break
		}
		out = append(out, store.Block{Seq: b.Seq, Data: append([]byte(nil), b.Data...), Samples: b.Samples})
		bytes += len(b.Data)
	}
	return out, nil
}

func (q *memQueue) AckThrough(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.acks = append(q.acks, seq)
	i := 0
	for i < len(q.blocks) && q.blocks[i].Seq <= seq {
		i++
	}
	q.blocks = q.blocks[i:]
	return nil
}

func (q *memQueue) Wait(ctx context.Context, after uint64) error {
	for {
		q.mu.Lock()
		ok := q.next-1 > after && len(q.blocks) > 0
		ch := q.changed
		q.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *memQueue) ID() uint64 { return 77 }

// The in-memory queue has no cap, so nothing is ever held back.
func (q *memQueue) Sending(uint64) {}
func (q *memQueue) Release()       {}

func (q *memQueue) state() (left int, acks []uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.blocks), append([]uint64(nil), q.acks...)
}

// fakeConn is an in-memory uplink whose server side is a function of the
// block: answer it (ACK, or NACK and close), or drop the connection without answer.
type fakeConn struct {
	in        chan uint64
	acks      chan transport.Ack
	done      chan struct{}
	exited    chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	err       error
	sent      atomic.Uint64
	maxBlock  int
}

type verdict int

const (
	ack verdict = iota
	nack
	drop
)

func newFakeConn(window, maxBlock int, serve func(seq uint64) verdict) *fakeConn {
	c := &fakeConn{
		in:       make(chan uint64, window),
		acks:     make(chan transport.Ack, window),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
		maxBlock: maxBlock,
	}
	go func() {
		defer close(c.exited)
		defer close(c.acks)
		for {
			select {
			case seq := <-c.in:
				var a transport.Ack
				switch serve(seq) {
				case drop:
					c.end(errors.New("connection lost"))
					return
				case nack:
					a = transport.Ack{Seq: seq, Err: &transport.NackError{Seq: seq, Reason: "handler failed"}}
				default:
					a = transport.Ack{Seq: seq}
				}
				select {
				case c.acks <- a:
				case <-c.done:
					return
				}
				if a.Err != nil {
					// Like the real server: nothing after a NACK.
					c.end(errors.New("server closed after nack"))
					return
				}
			case <-c.done:
				return
			}
		}
	}()
	return c
}

func (c *fakeConn) end(err error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	})
}

func (c *fakeConn) Send(ctx context.Context, seq uint64, data []byte) error {
	if len(data) > c.maxBlock {
		return fmt.Errorf("fake: %w", transport.ErrBlockTooLarge)
	}
	select {
	case c.in <- seq:
		c.sent.Add(uint64(13 + len(data)))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.Err()
	}
}

func (c *fakeConn) SendLane(ctx context.Context, seq uint64, _ uint8, data []byte) error {
	return c.Send(ctx, seq, data)
}

func (c *fakeConn) Lanes() bool                { return false }
func (c *fakeConn) Held() []transport.Span     { return nil }
func (c *fakeConn) Acks() <-chan transport.Ack { return c.acks }
func (c *fakeConn) Done() <-chan struct{}      { return c.exited }
func (c *fakeConn) SentBytes() uint64          { return c.sent.Load() }
func (c *fakeConn) CanResync() bool            { return true }
func (c *fakeConn) DeltaVersion() int          { return 3 }
func (c *fakeConn) CanReplay() bool            { return false }
func (c *fakeConn) Replayed(uint8) error       { return nil }
func (c *fakeConn) SendBase(context.Context, uint64, uint8, []byte) error {
	return errors.New("fake: no BASE frames")
}
func (c *fakeConn) Close() error {
	c.end(transport.ErrClosed)
	<-c.exited
	return nil
}

func (c *fakeConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
