package edge

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/store"
)

// appender is the part of the queue the committer writes to. It keeps no
// record's Data once Append has returned (as store.Queue): the committer
// encodes its next commit into the same memory.
type appender interface {
	Append(recs ...store.Record) (uint64, error)
}

// laneStarter starts a live lane beside a backlog when the uplink asked
// for one (*lanes.Lanes): the committer, the queue's only appender, asks
// before each append.
type laneStarter interface {
	Start() bool
}

// committer makes batches durable with group commits: every batch
// submitted while a synced write is under way, or within the commit
// interval, shares the next one.
type committer struct {
	q        appender
	tenant   string
	site     string
	interval time.Duration
	maxBlock int
	log      *slog.Logger
	delta    *deltaEncoder // nil: scrapes go whole
	lanes    laneStarter   // nil: the queue is never split
	in       chan *pending
	// bufs are the memory the blocks of the last commit were encoded
	// into, for the next commit's (encodeBlock), owned by the commit
	// loop; used counts those handed out to the commit under way.
	bufs [][]byte
	used int
	// rwSubmits counts the submits under way of batches that are not
	// scrapes: a remote_write request alone need not wait for others to
	// share its commit (commitNow).
	rwSubmits atomic.Int64
	committed prometheus.Counter
	commits   prometheus.Counter
	failures  prometheus.Counter
	blockSize prometheus.Histogram
}

type pending struct {
	b    *relay.Batch
	done chan error
}

func newCommitter(q appender, tenant, site string, interval time.Duration, maxBlock int, log *slog.Logger, reg prometheus.Registerer) *committer {
	c := &committer{
		q: q, tenant: tenant, site: site, interval: interval, maxBlock: maxBlock, log: log,
		in: make(chan *pending, 1024),
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_queue_committed_samples_total", Help: "Samples made durable in the queue.",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_queue_commits_total", Help: "Synced group commits to the queue.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_queue_commit_errors_total", Help: "Group commits that failed; their batches were refused to ingest.",
		}),
		blockSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "edgerelay_queue_block_bytes", Help: "Size of the blocks appended to the queue: whole blocks and delta frames.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 9),
		}),
	}
	reg.MustRegister(c.committed, c.commits, c.failures, c.blockSize)
	return c
}

// submit hands b to the commit loop and waits until it is durable.
func (c *committer) submit(ctx context.Context, b *relay.Batch) error {
	if !b.Scrape {
		c.rwSubmits.Add(1)
		defer c.rwSubmits.Add(-1)
	}
	p := &pending{b: b, done: make(chan error, 1)}
	select {
	case c.in <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The batch may still become durable; the caller was told it did not.
		// The cloud drops nothing twice, so a retry by the sender is safe.
		return ctx.Err()
	}
}

// run commits until ctx is done, then commits what is pending and returns.
func (c *committer) run(ctx context.Context) error {
	for {
		var group []*pending
		select {
		case p := <-c.in:
			group = append(group, p)
		case <-ctx.Done():
			c.drain()
			return nil
		}
		if c.interval > 0 && !c.commitNow(group[0]) {
			t := time.NewTimer(c.interval)
		collect:
			for {
				select {
				case p := <-c.in:
					group = append(group, p)
				case <-t.C:
					break collect
				}
			}
		}
		// Take whatever else queued up without waiting.
	more:
		for {
			select {
			case p := <-c.in:
				group = append(group, p)
			default:
				break more
			}
		}
		c.commit(group)
	}
}

// commitNow reports whether first, the first batch of a group commit,
// goes without waiting the commit interval for others to join it: a
// remote_write batch while no other remote_write submit is under way. A
// sender whose shard sends its next request only once this one is
// answered gains nothing from the wait; batches that arrive meanwhile
// share the next commit.
func (c *committer) commitNow(first *pending) bool {
	return !first.b.Scrape && c.rwSubmits.Load() <= 1
}

func (c *committer) drain() {
	for {
		select {
		case p := <-c.in:
			c.commit([]*pending{p})
		default:
			return
		}
	}
}

func (c *committer) commit(group []*pending) {
	// A live lane asked for by the uplink starts with this commit, and with
	// delta encoding a new generation, so its frames never need a base
	// from the backlog.
	if c.lanes != nil && c.lanes.Start() && c.delta != nil {
		c.delta.requestCheckpoint()
	}
	batches := make([]*relay.Batch, len(group))
	for i, p := range group {
		batches[i] = p.b
	}
	c.used = 0
	recs, samples := c.encode(batches)
	_, err := c.q.Append(recs...)
	c.keepBufs()
	if err != nil {
		if c.delta != nil {
			c.delta.appendFailed()
		}
		c.failures.Inc()
		c.log.Error("queue append failed; ingest refused", "batches", len(group), "err", err)
		err = fmt.Errorf("%w: %w", relay.ErrQueueFull, err)
	} else {
		c.commits.Inc()
		c.committed.Add(float64(samples))
		for _, r := range recs {
			c.blockSize.Observe(float64(len(r.Data)))
		}
	}
	for _, p := range group {
		p.done <- err
	}
}

// encode packs batches into blocks no larger than maxBlock, splitting a
// batch by series when it alone is too large.
func (c *committer) encode(batches []*relay.Batch) ([]store.Record, int) {
	total := 0
	for _, b := range batches {
		total += b.Samples()
	}
	if c.delta == nil {
		return c.encodeBlock(batches), total
	}
	frames, whole := c.delta.encode(c.tenant, c.site, batches, c.maxBlock)
	var recs []store.Record
	if len(whole) > 0 {
		recs = c.encodeBlock(whole)
		for i := range recs {
			// One group for every block of the generation, so a cap drop
			// never splits it.
			recs[i].Group = c.delta.enc.Generation()
		}
	}
	return append(recs, c.delta.blocks(c.tenant, c.site, frames, c.maxBlock)...), total
}

// Bounds of the encoding memory a committer keeps between commits.
const (
	maxKeptBufs   = 4
	maxKeptBufCap = 256 << 10
)

// encodeBlock encodes bs as one block, or halves the work until each block
// fits maxBlock. The blocks are encoded into c.bufs, the memory of the last
// commit's, from c.used on.
func (c *committer) encodeBlock(bs []*relay.Batch) []store.Record {
	blk := &relay.Block{Tenant: c.tenant, Site: c.site, Batches: bs}
	var dst []byte
	if c.used < len(c.bufs) {
		dst = c.bufs[c.used][:0]
	}
	data := block.Encode(dst, blk)
	if c.used < len(c.bufs) {
		c.bufs[c.used] = data // grown, for the halves or the next commit
	} else if c.used < maxKeptBufs {
		c.bufs = append(c.bufs, data)
	}
	if len(data) <= c.maxBlock {
		c.used++
		return []store.Record{{Data: data, Samples: blk.Samples(), Time: newest(bs)}}
	}
	if len(bs) > 1 {
		h := len(bs) / 2
		return append(c.encodeBlock(bs[:h]), c.encodeBlock(bs[h:])...)
	}
	b := bs[0]
	if len(b.Series) < 2 {
		// One series too large for a block: nothing sensible to split. Keep it
		// whole; the queue rejects it with a clear error.
		c.used++
		return []store.Record{{Data: data, Samples: blk.Samples(), Time: newest(bs)}}
	}
	// Split one batch by series; a scrape split so is marked as a partial
	// scrape by sharing its timestamp, and the cloud merges nothing: each
	// part is written as received.
	h := len(b.Series) / 2
	left, right := *b, *b
	left.Series, right.Series = b.Series[:h], b.Series[h:]
	return append(c.encodeBlock([]*relay.Batch{&left}), c.encodeBlock([]*relay.Batch{&right})...)
}

// keepBufs drops, once the queue has the commit's blocks, the encoding
// memory past the bounds kept between commits.
func (c *committer) keepBufs() {
	for i, b := range c.bufs {
		if cap(b) > maxKeptBufCap {
			c.bufs[i] = nil
		}
	}
}

func newest(bs []*relay.Batch) int64 {
	var t int64
	for _, b := range bs {
		for _, s := range b.Series {
			for _, smp := range s.Samples {
				t = max(t, smp.T)
			}
		}
		t = max(t, b.Timestamp)
	}
	return t
}
