// Package lanes owns the lanes of the edge's queue: this is the one place
// that decides when a backlog is split off, starts the live lane, reads
// each lane with its own cursor, shares the uplink's bytes between the two
// and acknowledges each lane in the queue.
//
// After an outage the queue holds a backlog. So that live data need not
// wait behind it, a connection that finds more than a window's worth
// queued, to a cloud that takes lanes, asks for a split (Connect); the
// queue's only appender starts it before its next append (Start), so what
// was queued is the backlog lane and what comes next the live lane, with a
// new delta generation. Each lane is then sent oldest first, the backlog
// getting Config.ReplayShare of the bytes while both have blocks (Sender),
// and each lane is acknowledged on its own (Ack): the live lane's blocks
// may leave the queue before older backlog blocks. The split itself, and
// which lane each block is in, are persisted by the store (store.Split).
//
// Concurrency: Start is called by the queue's appender; Connect, Ack,
// DropHeld and Acked by the forwarder's goroutine; a Sender's Next by one
// sending goroutine at a time; Beside from any goroutine.
package lanes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/edgerelay/edgerelay/store"
)

// Queue is the FIFO side of *store.Queue that lanes read and acknowledge.
type Queue interface {
	Read(after uint64, maxBlocks int, maxBytes int) ([]store.Block, error)
	AckThrough(seq uint64) error
	Wait(ctx context.Context, after uint64) error
	// Sending and Release bracket blocks in flight, so the queue counts a
	// cap drop of one only if the cloud never acknowledges it.
	Sending(seq uint64)
	Release()
}

// SplitQueue is what a Queue also offers when it can be split into a
// backlog and a live lane (*store.Queue does): Stats tells where it is
// split (Stats.Split, Stats.Backlog). Without it the queue has one lane.
type SplitQueue interface {
	StartLane() (store.Split, error)
	AckRange(from, through uint64) error
	Stats() store.Stats
}

// Config configures Lanes.
type Config struct {
	// ReplayShare is the share of the bytes sent that goes to the backlog
	// while live data waits too, in (0, 1]; 1 drains the backlog strictly
	// first and never splits.
	ReplayShare float64
	// Window (blocks) and MaxBatchBytes bound one read of the queue; a
	// backlog larger than either asks for a split.
	Window, MaxBatchBytes int
	Logger                *slog.Logger
	// Report, when set, is told how many lanes are being sent: 2 while a
	// backlog goes beside live data, 1 otherwise, 0 when not connected.
	Report func(lanes int)
}

// Lanes is the lane state of one queue.
type Lanes struct {
	q         Queue
	sq        SplitQueue // nil: one lane
	cfg       Config
	log       *slog.Logger
	interlace bool        // sq is set and ReplayShare is below 1
	req       atomic.Bool // a split was asked for; the next Start makes it
	two       atomic.Bool // a backlog lane is being sent beside the live lane

	mu        sync.Mutex
	acked     uint64 // highest Seq acknowledged by AckThrough (the oldest lane)
	liveAcked uint64 // the same for the live lane of a split
}

// New returns the lanes of q. cfg.ReplayShare must be in (0, 1] and
// Window and MaxBatchBytes positive; the caller checks them.
func New(q Queue, cfg Config) *Lanes {
	sq, _ := q.(SplitQueue)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lanes{q: q, sq: sq, cfg: cfg, log: log, interlace: sq != nil && cfg.ReplayShare < 1}
}

// Start makes the split asked for by Connect, if one was: what is queued
// now becomes the backlog lane, what is appended from now on the live lane.
// The queue's only appender calls it before each append; when it reports
// true, the appender starts a new delta generation, so the live lane's
// frames never need a base from the backlog. A split asked for while the
// backlog lane of the last one still holds blocks changes nothing.
func (l *Lanes) Start() bool {
	if l.sq == nil || !l.req.Swap(false) {
		return false
	}
	sp, err := l.sq.StartLane()
	switch {
	case errors.Is(err, store.ErrBacklog):
		return false // the live lane of the last split goes on
	case err != nil:
		l.log.Warn("could not start a live lane; the backlog drains first", "err", err)
		return false
	}
	l.log.Info("live lane started beside the backlog", "from_seq", sp.Seq, "lane", sp.Lane)
	return true
}

// Beside reports whether a backlog is being sent beside live data now.
func (l *Lanes) Beside() bool { return l.two.Load() }

// Acked is the highest Seq acknowledged in the oldest lane: the next
// connection resends what follows it.
func (l *Lanes) Acked() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

// Connect starts sending on a new connection; cloudTakesLanes says whether
// the cloud takes blocks of two lanes interleaved. Blocks are then sent
// with their lane (store.Block.Lane) when Sender.Lanes says so, and
// otherwise in sequence order, both lanes as one.
//
// It asks for a split when the connection finds a backlog of more than a
// read's worth (Window blocks, or MaxBatchBytes) and the cloud takes lanes.
func (l *Lanes) Connect(cloudTakesLanes bool) *Sender {
	s := &Sender{l: l, lanes: l.interlace && cloudTakesLanes}
	s.awaitSplit = s.lanes && l.maybeSplit()
	l.mu.Lock()
	s.cur = &cursor{after: l.acked} // the oldest lane (the only one unless split)
	if s.lanes {
		st := l.sq.Stats()
		s.split = st.Split
		if st.Backlog {
			s.cur.before = s.split.Seq
			s.live = &cursor{after: max(s.split.Seq-1, l.liveAcked)}
		}
	}
	l.mu.Unlock()
	l.setTwo(s.live != nil)
	return s
}

// maybeSplit asks for a live lane when there is a backlog of more than a
// read's worth and no split is under way; it reports whether it asked.
func (l *Lanes) maybeSplit() bool {
	st := l.sq.Stats()
	if st.Backlog {
		return false
	}
	if st.Blocks <= l.cfg.Window && st.Bytes <= int64(l.cfg.MaxBatchBytes) {
		return false
	}
	l.log.Info("uplink: backlog found; live data will go beside it", "blocks", st.Blocks, "bytes", st.Bytes,
		"samples", st.Samples, "replay_share", l.cfg.ReplayShare)
	l.req.Store(true)
	return true
}

func (l *Lanes) setTwo(two bool) {
	l.two.Store(two)
	if l.cfg.Report == nil {
		return
	}
	if two {
		l.cfg.Report(2)
	} else {
		l.cfg.Report(1)
	}
}

// Ack acknowledges in the queue the blocks the cloud made durable: through
// names, per lane, the newest such block (0: none), every older block of
// that lane sent on this connection being answered too. The live lane of
// a split is deleted from its start (AckRange) while backlog blocks wait;
// the oldest lane, and a queue never split, from the head (AckThrough).
func (l *Lanes) Ack(through [2]uint64) error {
	var split store.Split
	if l.sq != nil {
		split = l.sq.Stats().Split
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for lane, t := range through {
		if t == 0 {
			continue
		}
		if split.Seq != 0 && uint8(lane) == split.Lane && t >= split.Seq {
			from := max(split.Seq, l.liveAcked+1)
			if err := l.sq.AckRange(from, t); err != nil {
				return fmt.Errorf("ack %d..%d: %w", from, t, err)
			}
			l.liveAcked = t
			continue
		}
		if err := l.q.AckThrough(t); err != nil {
			return fmt.Errorf("ack through %d: %w", t, err)
		}
		l.acked = max(l.acked, t)
	}
	return nil
}

// Span is a range of sequence numbers, From through To.
type Span struct{ From, To uint64 }

// DropHeld deletes from the queue the blocks the cloud said it already
// holds (it imported them from a bundle, or their acknowledgements were
// lost), so they do not cross the link twice, and returns how many left
// the queue.
func (l *Lanes) DropHeld(held []Span) (int, error) {
	if l.sq == nil || len(held) == 0 {
		return 0, nil
	}
	st := l.sq.Stats()
	if st.Blocks == 0 {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sp := range held {
		if sp.To < st.HeadSeq || sp.From >= st.NextSeq {
			continue
		}
		if err := l.sq.AckRange(sp.From, sp.To); err != nil {
			return 0, err
		}
		if sp.From <= l.acked+1 {
			l.acked = max(l.acked, sp.To)
		}
	}
	return max(st.Blocks-l.sq.Stats().Blocks, 0), nil
}
