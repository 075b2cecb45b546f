package rwout

import (
	"context"
	"time"

	"github.com/edgerelay/edgerelay/store"
)

// Routing: the reader sorts a block's items by shard, keeping their order,
// and hands each shard its share in one send, holding the semaphore for
// the share's weight in one acquisition, rather than one send and one
// acquisition per series. A share heavier than one shard's
// queue_config.capacity goes in parts, so that the reader never waits for
// more than a shard can hold.

// freeItemSlices bounds the item slices kept for reuse.
const freeItemSlices = 64

// staged is what one shard gets of the block being routed.
type staged struct {
	items  []item
	weight int64
}

// route hands every item of b to its shard. The block is done once every
// item handed out was sent or dropped; when ctx ends first, the block
// stays unfinished, so that it stays queued for the next start.
func (d *drain) route(ctx context.Context, sh *shardSet, b store.Block) error {
	f := d.f
	f.queue.Sending(b.Seq)
	t := &tracked{seq: b.Seq}
	t.left.Store(1)
	d.acks.track(b.Seq)
	d.after = b.Seq
	if err := d.stageItems(ctx, sh, t, b); err != nil {
		d.unstage()
		return err
	}
	for i := range d.stage {
		if err := d.dispatch(ctx, sh, t, i); err != nil {
			d.unstage()
			return err
		}
	}
	d.done(t)
	return nil
}

// stageItems sorts b's items by shard into d.stage, handing out a
// shard's share early when it reaches a shard's capacity. A malformed
// record, or a malformed rest of one, is logged and skipped.
func (d *drain) stageItems(ctx context.Context, sh *shardSet, t *tracked, b store.Block) error {
	f := d.f
	hdr, items, err := openRecord(b.Data)
	if err != nil {
		f.log.Error("remote_write queue: malformed block skipped", "seq", b.Seq, "err", err)
		return nil
	}
	cutoff := int64(0)
	if f.q.ageLimit > 0 {
		cutoff = time.Now().Add(-f.q.ageLimit).UnixMilli()
	}
	part := min(int64(f.q.capacity), d.size)
	for len(items) > 0 {
		h, field, rest, err := nextItem(items)
		if err != nil {
			f.log.Error("remote_write queue: malformed block; its rest skipped", "seq", b.Seq, "err", err)
			return nil
		}
		items = rest
		if h.Kind == kindSeries && cutoff != 0 && h.Newest < cutoff {
			f.countDrop(reasonTooOld, h.Samples, h.Histograms, h.Exemplars)
			continue
		}
		w := min(max(int64(h.total()), 1), d.size)
		i := int(h.Hash % uint32(len(sh.shards)))
		st := &d.stage[i]
		if len(st.items) > 0 && st.weight+w > part {
			if err := d.dispatch(ctx, sh, t, i); err != nil {
				return err
			}
		}
		if st.items == nil {
			st.items = d.itemSlice()
		}
		st.items = append(st.items, item{tenant: hdr.Tenant, h: h, field: field, blk: t, weight: w})
		st.weight += w
	}
	return nil
}

// dispatch hands shard i what is staged for it, once the semaphore holds
// its weight.
func (d *drain) dispatch(ctx context.Context, sh *shardSet, t *tracked, i int) error {
	st := &d.stage[i]
	if len(st.items) == 0 {
		return nil
	}
	if err := d.sem.Acquire(ctx, st.weight); err != nil {
		return err
	}
	select {
	case sh.shards[i].in <- st.items:
		t.left.Add(int64(len(st.items)))
		st.items, st.weight = nil, 0
		return nil
	case <-ctx.Done():
		d.sem.Release(st.weight)
		return ctx.Err()
	}
}

// unstage forgets what is staged and not handed out.
func (d *drain) unstage() {
	for i := range d.stage {
		if st := &d.stage[i]; st.items != nil {
			d.reuse(st.items)
			st.items, st.weight = nil, 0
		}
	}
}

// itemSlice returns an empty item slice, a reused one when there is one.
func (d *drain) itemSlice() []item {
	select {
	case s := <-d.free:
		return s
	default:
		return make([]item, 0, 64)
	}
}

// reuse keeps s, cleared (its fields point into a queue block), for
// itemSlice.
func (d *drain) reuse(s []item) {
	clear(s)
	select {
	case d.free <- s[:0]:
	default:
	}
}
