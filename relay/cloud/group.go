package cloud

import (
	"context"
	"fmt"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// Groups of blocks (the transport's GroupHandler): the blocks one edge
// sent back to back. What a block costs once — the outputs' durable
// writes (files synced, the remote_write queue's commit) and the write of
// its deduplication mark — is paid once for a run of blocks without delta
// frames (remote_write requests, scrapes sent whole): they are received
// and admitted one by one, then delivered to the outputs together, in
// order, and their marks recorded in one durable write, before any of
// them is acknowledged. A block with delta frames goes alone (apply), as
// its base is used by one block at a time.
//
// A block that fails is answered after the blocks before it are durable
// and acknowledged; nothing of it or of the blocks after it is kept (no
// mark, no base), so the edge sends them again. A run whose delivery or
// commit fails is answered from its first block: its blocks are resent,
// and outputs take a repeated delivery without harm (package output).

// runBlock is a block of a run: received and admitted, not yet delivered.
type runBlock struct {
	seq     uint64
	bytes   int
	dup     bool // handled before: acknowledged, nothing else
	d       *output.Delivery
	samples int
	refused int
	newest  int64
}

// handleGroup takes blocks of edge p that arrived together, in order, and
// returns the answers of those made durable; an error fails the block
// after them.
func (r *receiver) handleGroup(ctx context.Context, p transport.Peer, blocks []transport.Block) ([]transport.Ack, error) {
	if p.Tenant == config.RelayHelloTenant {
		return transport.OneByOne(r.fromRelayBlock)(ctx, p, blocks) // relayed.go
	}
	acks := make([]transport.Ack, 0, len(blocks))
	var run []runBlock
	// flush makes the run durable and appends its answers.
	flush := func() error {
		a, err := r.commitRun(ctx, p, run)
		run = run[:0]
		acks = append(acks, a...)
		return err
	}
	for _, b := range blocks {
		blk, dup, err := r.open(p, b.Seq, b.Data, "block", true)
		if err == nil && (dup || len(blk.Frames) == 0) {
			var rb runBlock
			if rb, err = r.admitWhole(p, b, blk, dup); err == nil {
				run = append(run, rb)
				continue
			}
		}
		if ferr := flush(); ferr != nil {
			return acks, ferr
		}
		if err != nil {
			return acks, err
		}
		a, err := r.applyOne(ctx, p, b, blk)
		if err != nil {
			return acks, err
		}
		acks = append(acks, a)
	}
	return acks, flush()
}

// admitWhole readies block b of p, decoded as blk (nil when dup), which
// carries no delta frames, for the outputs.
func (r *receiver) admitWhole(p transport.Peer, b transport.Block, blk *relay.Block, dup bool) (runBlock, error) {
	rb := runBlock{seq: b.Seq, bytes: len(b.Data), dup: dup}
	if dup {
		return rb, nil
	}
	refused, err := r.admit(p, blk, len(blk.Batches), nil)
	if err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return rb, fmt.Errorf("block %d: %w", b.Seq, err)
	}
	rb.d = &output.Delivery{Tenant: p.Tenant, Site: p.Site, QueueID: p.QueueID, Seq: b.Seq, Batches: blk.Batches}
	rb.samples, rb.refused, rb.newest = blk.Samples(), refused, newestSample(blk)
	return rb, nil
}

// commitRun delivers a run's blocks to the outputs, records their marks
// in one durable write, and returns their answers once the tenant's rate
// limits let them go; an error fails the run's first block.
func (r *receiver) commitRun(ctx context.Context, p transport.Peer, run []runBlock) ([]transport.Ack, error) {
	if len(run) == 0 {
		return nil, nil
	}
	var ds []*output.Delivery
	var seqs []uint64
	for _, rb := range run {
		if !rb.dup {
			ds = append(ds, rb.d)
			seqs = append(seqs, rb.seq)
		}
	}
	if len(ds) > 0 {
		if err := r.outputs.DeliverAll(ctx, ds); err != nil {
			r.blocks.WithLabelValues("error").Inc()
			return nil, fmt.Errorf("block %d: %w", run[0].seq, err)
		}
		if err := r.marks.advance(p.Tenant, p.Site, p.QueueID, seqs...); err != nil {
			r.blocks.WithLabelValues("error").Inc()
			return nil, fmt.Errorf("block %d: %w", run[0].seq, err)
		}
	}
	acks := make([]transport.Ack, len(run))
	samples, bytes := 0, 0
	for i, rb := range run {
		acks[i].Refused = uint64(rb.refused)
		bytes += rb.bytes
		if rb.dup {
			continue
		}
		r.outputs.Committed(rb.d)
		r.blocks.WithLabelValues("accepted").Inc()
		r.received.Add(float64(rb.samples))
		r.sites.received(p, rb.bytes, rb.samples, rb.newest)
		samples += rb.samples
	}
	// Over the tenant's rate limits the acknowledgements wait: the edge
	// keeps what it has not sent yet.
	if err := r.limits.Throttle(ctx, p.Tenant, samples, bytes); err != nil {
		return nil, fmt.Errorf("block %d: %w", run[0].seq, err)
	}
	return acks, nil
}

// applyOne takes block b of p, decoded as blk, which carries delta
// frames, on its own.
func (r *receiver) applyOne(ctx context.Context, p transport.Peer, b transport.Block, blk *relay.Block) (transport.Ack, error) {
	rc, err := r.apply(ctx, p, b.Seq, b.Lane, blk)
	if err != nil {
		return transport.Ack{}, err
	}
	r.sites.received(p, len(b.Data), rc.samples, rc.newest)
	// Over the tenant's rate limits the acknowledgement waits.
	return transport.Ack{Resync: rc.resync, Refused: uint64(rc.refused)}, r.limits.Throttle(ctx, p.Tenant, rc.samples, len(b.Data))
}

// fromRelayBlock is fromRelay (relayed.go) as a transport.Handler.
func (r *receiver) fromRelayBlock(ctx context.Context, p transport.Peer, _ uint64, _ uint8, data []byte) (transport.Ack, error) {
	return r.fromRelay(ctx, p, data)
}
