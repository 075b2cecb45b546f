// Package upstreams shares the edge's one queue among several cloud
// relays (edge.upstreams) and decides when the uplink runs: this is the one
// place that owns the upstreams' cursors, the queue's deletion point, the
// per-upstream backlog cap, failover and pausing.
//
// Each upstream reads the queue through its own View, which a forwarder
// uses as its queue: a View keeps the upstream's acknowledged position (a
// store.Cursor, persisted in the queue, so a kill -9 loses no position)
// and the Set deletes blocks from the queue once no upstream needs them.
//
//   - replicate: every upstream gets every block, in order; the queue keeps
//     a block until every upstream acknowledged it (the minimum over the
//     cursors), or until an upstream's max_backlog_bytes drops it for that
//     upstream alone. Such a drop takes whole delta generations (a block's
//     store.Record.Group) from the upstream's oldest on; when it reaches
//     the generation being written, the upstream also skips that
//     generation's later blocks (Cursor.Skip) and the edge starts a new
//     one (Config.OnDrop), so the upstream never gets a delta frame
//     without its base: it sees whole generations, or a prefix of one.
//   - failover: one upstream at a time, in list order; after
//     failover_after without progress the next takes over from its own
//     cursor. The queue keeps the acknowledged blocks of the newest
//     acknowledged generation, so an upstream taking over mid-generation
//     gets that generation from its full frames; a cloud never gets a
//     frame without its base, and never writes a block twice (it drops
//     repeats by site, queue id and seq).
//
// Concurrency: a View is used by one forwarder's goroutines as
// forward.Queue allows; the Set's methods are safe for concurrent use.
package upstreams

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/edgerelay/edgerelay/store"
)

// Queue is the part of *store.Queue the Set uses.
type Queue interface {
	Read(after uint64, maxBlocks int, maxBytes int) ([]store.Block, error)
	AckThrough(seq uint64) error
	Wait(ctx context.Context, after uint64) error
	ID() uint64
	Stats() store.Stats
	Info(after uint64, max int) ([]store.BlockInfo, error)
	LoadCursor(name string) (store.Cursor, error)
	SaveCursor(name string, c store.Cursor) error
}

// Upstream is one upstream's share of the queue.
type Upstream struct {
	// Name keys its cursor in the queue and labels its metrics.
	Name string
	// MaxBacklogBytes caps, in replicate mode, the queued bytes it has not
	// acknowledged; 0: no cap of its own.
	MaxBacklogBytes int64
}

// Set is the upstreams of one queue.
type Set struct {
	q        Queue
	failover bool
	views    []*View
	log      *slog.Logger
	m        *metrics
	onDrop   func()

	mu    sync.Mutex // orders trims
	run   generationRun
	trimd uint64 // what the Set last deleted through
}

// generationRun is the newest acknowledged block's generation: its blocks
// from start through through share group (0: not a delta generation).
type generationRun struct {
	start, through, group uint64
}

// New loads the cursors of ups in q. failover selects failover mode.
// onDrop, when set, is called after blocks were dropped for one upstream:
// the edge starts a new delta generation.
func New(q Queue, ups []Upstream, failover bool, onDrop func(), m *Metrics, log *slog.Logger) (*Set, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{q: q, failover: failover, log: log, onDrop: onDrop, m: m.m()}
	for _, u := range ups {
		c, err := q.LoadCursor(u.Name)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", u.Name, err)
		}
		s.views = append(s.views, &View{s: s, up: u, cur: c, counted: c.Acked, inflight: map[uint64]struct{}{}})
		s.m.init(u.Name, c.Acked)
	}
	for _, v := range s.views {
		// The gauges hold the truth from the start, not from the first
		// refresh.
		if b, err := v.Backlog(); err == nil {
			s.m.backlogBytes.WithLabelValues(v.Name()).Set(float64(b))
		}
	}
	return s, nil
}

// Views returns each upstream's view, in the order given to New.
func (s *Set) Views() []*View { return s.views }

// trim deletes from the queue the blocks no upstream needs any more:
// through the lowest cursor in replicate mode; in failover mode through
// the highest, keeping its delta generation's acknowledged blocks.
func (s *Set) trim() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var low, high uint64
	for i, v := range s.views {
		a := v.cursor().Acked
		if i == 0 || a < low {
			low = a
		}
		high = max(high, a)
	}
	through := low
	if s.failover {
		start, err := s.runStart(high)
		if err != nil {
			return err
		}
		through = start - 1
	}
	if through <= s.trimd {
		return nil
	}
	if err := s.q.AckThrough(through); err != nil {
		return err
	}
	s.trimd = through
	return nil
}

// runStart returns the first Seq of the run of stored blocks ending at
// high that share high's generation (high+1 when high's block is not of a
// delta generation or is gone). It reads only the meta records acknowledged
// since its last call. It must be called with s.mu held.
func (s *Set) runStart(high uint64) (uint64, error) {
	r := &s.run
	if high <= r.through {
		if r.group == 0 {
			return high + 1, nil
		}
		return r.start, nil
	}
	after := r.through
	for after < high {
		infos, err := s.q.Info(after, int(min(high-after, 1024)))
		if err != nil {
			return 0, err
		}
		if len(infos) == 0 {
			break
		}
		for _, b := range infos {
			if b.Seq > high {
				break
			}
			if b.Group == 0 || b.Group != r.group || b.Seq != r.through+1 {
				r.start, r.group = b.Seq, b.Group
			}
			r.through = b.Seq
		}
		after = infos[len(infos)-1].Seq
	}
	if r.through < high {
		// high's block is gone (dropped by the queue's cap).
		r.start, r.group, r.through = high+1, 0, high
	}
	if r.group == 0 {
		return high + 1, nil
	}
	return r.start, nil
}
