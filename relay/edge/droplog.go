package edge

import (
	"log/slog"
	"sync"
	"time"

	"github.com/edgerelay/edgerelay/store"
)

// dropEpisodeGap is how long without a drop ends a drop episode.
const dropEpisodeGap = time.Minute

// dropLog logs queue-cap drops once per episode instead of once per block:
// the first drop of an episode at once, then one summary per
// dropEpisodeGap while drops go on. Every drop is counted in /metrics
// regardless. Safe for concurrent use.
type dropLog struct {
	mu      sync.Mutex
	last    time.Time // last drop
	logged  time.Time // last log line
	pending store.Dropped
}

func (l *dropLog) note(d store.Dropped, log *slog.Logger) {
	now := time.Now()
	l.mu.Lock()
	fresh := now.Sub(l.last) > dropEpisodeGap
	l.last = now
	if fresh {
		l.pending = store.Dropped{}
	}
	if l.pending.Blocks == 0 {
		l.pending.FirstSeq = d.FirstSeq
	}
	l.pending.Blocks += d.Blocks
	l.pending.Bytes += d.Bytes
	l.pending.Samples += d.Samples
	l.pending.LastSeq = d.LastSeq
	p := l.pending
	due := fresh || now.Sub(l.logged) >= dropEpisodeGap
	if due {
		l.logged, l.pending = now, store.Dropped{}
	}
	l.mu.Unlock()
	if !due {
		return
	}
	msg := "queue full: dropping the oldest blocks (edgerelay_queue_dropped_samples_total counts them)"
	if !fresh {
		msg = "queue still full: dropped the oldest blocks since the last report"
	}
	log.Warn(msg, "blocks", p.Blocks, "bytes", p.Bytes, "samples", p.Samples, "first_seq", p.FirstSeq, "last_seq", p.LastSeq)
}
