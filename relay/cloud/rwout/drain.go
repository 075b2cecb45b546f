package rwout

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/edgerelay/edgerelay/store"
)

// The drain: one reader takes blocks from the queue in order and hands
// each item to the shard its hash names, a block's items for one shard in
// one send (route.go); each shard batches its items
// into requests and sends them (shard.go). A block is done once every one
// of its items was sent or dropped; the acker deletes done blocks from the
// queue in order. The samples in flight are bounded by
// queue_config.capacity per shard (a semaphore), so a struggling endpoint
// stops the reader, never the edges: blocks wait on disk.
//
// Resharding (between min_shards and max_shards) happens between blocks:
// the reader stops, the shards send what they hold and exit, and new
// shards start, so a series' samples never overtake each other.

// reshardEvery is how often the reader reconsiders the number of shards.
const reshardEvery = 10 * time.Second

// stopGrace is how long shards keep sending what they hold once Run's
// context ended, so that a clean stop rarely leaves a block half sent
// (which a restart would send again).
const stopGrace = 5 * time.Second

// tracked is a block being sent: done when left reaches zero.
type tracked struct {
	seq  uint64
	left atomic.Int64
}

// item is one item of a block on its way to a shard.
type item struct {
	tenant string
	h      itemHeader
	field  []byte
	blk    *tracked
	weight int64
}

// drain is the reader of one Run.
type drain struct {
	f     *Forwarder
	after uint64 // Seq of the last block handed out
	acks  *acker
	sem   *semaphore.Weighted
	size  int64       // of sem
	stage []staged    // by shard: items of the block being routed (route.go)
	free  chan []item // item slices the shards are done with, for reuse
}

// Run drains the queue until ctx ends (see the package doc), then lets
// the shards finish for up to stopGrace and returns nil.
func (f *Forwarder) Run(ctx context.Context) error {
	if f.queue == nil {
		<-ctx.Done()
		return nil
	}
	defer f.queue.Release()
	d := &drain{f: f, acks: newAcker(f.queue, f.log), free: make(chan []item, freeItemSlices)}
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, cancel) })
	defer stop()
	var ackWG sync.WaitGroup
	ackWG.Add(1)
	go func() { defer ackWG.Done(); d.acks.run(sendCtx) }()
	n := f.q.minShards
	for {
		sh := d.startShards(sendCtx, n)
		next, err := d.feed(ctx, sh, n)
		sh.stop()
		if err != nil || ctx.Err() != nil {
			cancel()
			ackWG.Wait()
			d.acks.flush()
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, store.ErrClosed) {
				return err
			}
			return nil
		}
		if next != n {
			f.log.Info("remote_write resharding", "from", n, "to", next)
		}
		n = next
	}
}

// feed hands blocks to the shards until ctx ends or it is time to run
// another number of shards, which it returns.
func (d *drain) feed(ctx context.Context, sh *shardSet, n int) (int, error) {
	f := d.f
	d.size = int64(f.q.capacity) * int64(n)
	d.sem = semaphore.NewWeighted(d.size)
	sh.sem = d.sem
	d.stage = make([]staged, n)
	reconsider := time.Now().Add(reshardEvery)
	idle := false
	for {
		if time.Now().After(reconsider) {
			if next := d.shardsWanted(n, idle); next != n {
				return next, nil
			}
			reconsider, idle = time.Now().Add(reshardEvery), false
		}
		blocks, err := f.queue.Read(d.after, 64, 8<<20)
		if err != nil {
			if errors.Is(err, store.ErrClosed) {
				return n, err
			}
			f.log.Error("remote_write queue unreadable; retrying", "err", err)
			blocks = nil
		}
		if len(blocks) == 0 {
			idle = true
			sh.hint()
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			err := f.queue.Wait(wctx, d.after)
			cancel()
			if ctx.Err() != nil || errors.Is(err, store.ErrClosed) {
				return n, ctx.Err()
			}
			continue
		}
		for _, b := range blocks {
			if err := d.route(ctx, sh, b); err != nil {
				return n, err
			}
		}
	}
}

// done marks one part of t done; the last one hands t to the acker.
func (d *drain) done(t *tracked) {
	if t.left.Add(-1) == 0 {
		d.acks.done(t.seq)
	}
}

// shardsWanted is the number of shards for the next period: twice as many
// while the queue holds more than the shards can buffer and the endpoint
// answers well, half as many once the reader found the queue empty.
func (d *drain) shardsWanted(n int, idle bool) int {
	f := d.f
	st := f.queue.Stats()
	switch {
	case st.Samples > int64(n)*int64(f.q.capacity) && f.lastErr.since() > 2*reshardEvery && n < f.q.maxShards:
		return min(2*n, f.q.maxShards)
	case idle && st.Samples < int64(f.q.capacity) && n > f.q.minShards:
		return max(n/2, f.q.minShards)
	}
	return n
}

// countDrop counts dropped items.
func (f *Forwarder) countDrop(reason string, samples, hists, exemplars int) {
	f.m.dropped.WithLabelValues(reason).Add(float64(samples))
	f.m.nm.droppedH.Add(float64(hists))
	f.m.nm.droppedE.Add(float64(exemplars))
}

// acker deletes done blocks from the queue, in the order they were read:
// through the longest prefix of read blocks that are all done.
type acker struct {
	q    *store.Queue
	log  interface{ Warn(string, ...any) }
	mu   sync.Mutex
	read []uint64 // read, not yet acknowledged, in order
	fin  map[uint64]bool
	kick chan struct{}
}

func newAcker(q *store.Queue, log interface{ Warn(string, ...any) }) *acker {
	return &acker{q: q, log: log, fin: map[uint64]bool{}, kick: make(chan struct{}, 1)}
}

func (a *acker) track(seq uint64) {
	a.mu.Lock()
	a.read = append(a.read, seq)
	a.mu.Unlock()
}

func (a *acker) done(seq uint64) {
	a.mu.Lock()
	a.fin[seq] = true
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// run acknowledges at most every 50ms (each acknowledgement is a synced
// write) until ctx ends.
func (a *acker) run(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
		}
		a.flush()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// flush acknowledges the done prefix.
func (a *acker) flush() {
	a.mu.Lock()
	var through uint64
	i := 0
	for ; i < len(a.read) && a.fin[a.read[i]]; i++ {
		through = a.read[i]
		delete(a.fin, through)
	}
	a.read = append(a.read[:0], a.read[i:]...)
	a.mu.Unlock()
	if through == 0 {
		return
	}
	if err := a.q.AckThrough(through); err != nil {
		a.log.Warn("remote_write queue: acknowledging sent blocks failed; they stay queued and may be sent again", "through", through, "err", err)
	}
}
