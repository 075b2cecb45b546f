package rwout

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// shardSet is the shards of one period between reshardings.
type shardSet struct {
	shards []*shard
	wg     sync.WaitGroup
	sem    *semaphore.Weighted
}

// shard batches the items it is given into requests, one pending request
// per tenant (one in all without tenant_header), and sends each when it
// holds max_samples_per_send samples (or metadata_config's
// max_samples_per_send metadata entries), when its oldest item waited
// batch_send_deadline, or when the reader found the queue drained.
type shard struct {
	d    *drain
	set  *shardSet
	in   chan []item // a block's items for this shard; nil: send what it holds
	pend map[string]*pending
	snap []byte // snappy-encoded body, reused
}

// pending is one request being filled: a WriteRequest's fields, end to end.
type pending struct {
	tenant                    string
	buf                       []byte
	count, metas              int // against max_samples_per_send
	samples, hists, exemplars int
	newest                    int64
	first                     time.Time
	blks                      []*tracked
	weight                    int64
}

func (p *pending) reset() {
	p.buf, p.blks = p.buf[:0], p.blks[:0]
	p.count, p.metas, p.samples, p.hists, p.exemplars, p.weight = 0, 0, 0, 0, 0, 0
	p.newest = math.MinInt64
}

func (d *drain) startShards(ctx context.Context, n int) *shardSet {
	set := &shardSet{shards: make([]*shard, n)}
	for i := range set.shards {
		s := &shard{d: d, set: set, in: make(chan []item, 512), pend: map[string]*pending{}}
		set.shards[i] = s
		set.wg.Add(1)
		go func() {
			defer set.wg.Done()
			s.run(ctx)
		}()
	}
	d.f.m.shards.Set(float64(n))
	return set
}

// hint asks every shard to send what it holds.
func (set *shardSet) hint() {
	for _, s := range set.shards {
		select {
		case s.in <- nil:
		default:
		}
	}
}

// stop makes every shard send what it holds and waits for them.
func (set *shardSet) stop() {
	for _, s := range set.shards {
		close(s.in)
	}
	set.wg.Wait()
}

func (s *shard) run(ctx context.Context) {
	qc := s.d.f.q
	tick := time.NewTicker(max(qc.deadline/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case items, ok := <-s.in:
			if !ok {
				s.sendAll(ctx, 0)
				return
			}
			if items == nil {
				s.sendAll(ctx, 0)
				continue
			}
			for _, it := range items {
				s.add(ctx, it)
			}
			s.d.reuse(items)
		case <-tick.C:
			s.sendAll(ctx, qc.deadline)
		}
	}
}

// add puts it in its tenant's pending request, sending that first when
// it would overflow and after when it is full.
func (s *shard) add(ctx context.Context, it item) {
	f := s.d.f
	key := ""
	if f.tenantH != "" {
		key = it.tenant
	}
	p := s.pend[key]
	if p == nil {
		p = &pending{tenant: it.tenant}
		p.reset()
		s.pend[key] = p
	}
	isMeta := it.h.Kind == kindMetadata
	if len(p.blks) > 0 && (p.count+it.h.total() > f.q.maxSamples || (isMeta && p.metas >= max(f.maxMeta, 1))) {
		s.send(ctx, p)
	}
	if len(p.blks) == 0 {
		p.first = time.Now()
	}
	p.buf = append(p.buf, it.field...)
	p.blks = append(p.blks, it.blk)
	p.weight += it.weight
	if isMeta {
		p.metas++
	} else {
		p.count += it.h.total()
		p.samples += it.h.Samples
		p.hists += it.h.Histograms
		p.exemplars += it.h.Exemplars
		p.newest = max(p.newest, it.h.Newest)
	}
	if p.count >= f.q.maxSamples || (p.metas > 0 && p.metas >= f.maxMeta) {
		s.send(ctx, p)
	}
}

// sendAll sends every pending request whose first item waited at least age.
func (s *shard) sendAll(ctx context.Context, age time.Duration) {
	for _, p := range s.pend {
		if len(p.blks) > 0 && time.Since(p.first) >= age {
			s.send(ctx, p)
		}
	}
}

// send sends p (send.go) and marks its items done, unless the send was
// cut short by the end of Run: then they stay queued for the next start.
func (s *shard) send(ctx context.Context, p *pending) {
	if s.sendRequest(ctx, p) != canceled {
		for _, b := range p.blks {
			s.d.done(b)
		}
	}
	s.set.sem.Release(p.weight)
	p.reset()
}
