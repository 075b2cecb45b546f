package cloud

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// Rebuilding delta bases a cloud lacks (uplink protocol version 6,
// relay/transport/replay.go). When this cloud takes over a site from a
// cloud that died, it lacks the bases of the generation the edge is in.
// Rather than lose the frames encoded against them, it fails the first
// block needing one (needBase: a NACK with the need-base flag; nothing of
// the block is kept). The edge connects again and first sends the
// acknowledged blocks of that generation it keeps, as BASE frames: base
// applies their frames to the bases, writes nothing (the dead cloud wrote
// them) and records their marks, so they are never written here either.
// The failed block then decodes exactly. Once the edge says it sent all it
// kept (REPLAYED), a frame still without its base is lost as before
// (no_base, resync).

// needBase is the error failing block seq of p, whose frame h finds no
// base in lane while p's edge can resend the blocks building it.
func needBase(p transport.Peer, seq uint64, lane uint8, h delta.Header) error {
	job, instance := delta.SplitTarget(h.Target)
	return &transport.NeedBaseError{Lane: lane, Reason: fmt.Sprintf(
		"block %d: the delta frame of job %q instance %q (generation %d, k %d) needs a base this cloud lacks; resend the acknowledged blocks of its generation",
		seq, job, instance, h.Generation, h.K)}
}

// base is the transport's Base handler: block seq of p, acknowledged
// before (by this cloud or one that died), sent again so that its delta
// frames rebuild the bases of lane. Frames already applied are skipped;
// one without its base is counted (replay_no_base) and skipped; nothing
// is written to the outputs. The block's mark is recorded with the bases,
// in one synced write.
func (r *receiver) base(_ context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (transport.Ack, error) {
	if p.Tenant == config.RelayHelloTenant {
		return transport.Ack{}, errors.New("a relaying cloud sends no BASE frames")
	}
	blk, _, err := r.open(p, seq, data, "base block", false)
	if err != nil {
		return transport.Ack{}, err
	}
	if len(blk.Frames) == 0 {
		r.blocks.WithLabelValues("base").Inc()
		return transport.Ack{}, nil
	}
	sb, err := r.bases.get(p.Tenant, p.Site, p.QueueID, lane)
	if err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return transport.Ack{}, fmt.Errorf("base block %d: %w", seq, err)
	}
	var applied [][]byte
	var repeat, noBase int
	for _, f := range blk.Frames {
		h, err := delta.ParseHeader(f)
		if err == nil && sb.dec.Applied(h) {
			repeat++
			continue
		}
		if err == nil {
			var scr *delta.Scrape
			scr, err = sb.dec.Apply(f)
			delta.Release(scr)
		}
		var need *delta.ErrNeedFull
		if errors.As(err, &need) {
			noBase++
			continue
		}
		if err != nil {
			sb.discard()
			r.blocks.WithLabelValues("corrupt").Inc()
			return transport.Ack{}, fmt.Errorf("base block %d: %w", seq, err)
		}
		applied = append(applied, f)
	}
	resync, err := r.commit(p, seq, sb, applied)
	if err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return transport.Ack{}, fmt.Errorf("base block %d: %w", seq, err)
	}
	if r.applied != nil {
		r.applied(p, lane, blk.Generation)
	}
	r.blocks.WithLabelValues("base").Inc()
	r.frames.WithLabelValues("base").Add(float64(len(applied)))
	r.frames.WithLabelValues("repeat").Add(float64(repeat))
	r.frames.WithLabelValues("replay_no_base").Add(float64(noBase))
	return transport.Ack{Resync: resync}, nil
}
