package ingest

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay"
)

// targetState is what is kept of a target's last scrape: its size and,
// while no scrape of it is under way, the memory it filled.
type targetState struct {
	series int
	at     time.Time
	bufs   *scrapeBufs
}

// scrapeBufs is an appender's memory, emptied, kept for the target's next
// scrape when the sink allows it (appendable.reuse).
type scrapeBufs struct {
	series []relay.Series
	first  []relay.Sample
	index  map[storage.SeriesRef]int32
	ord    order
}

// take returns how many series the target's last scrape had (0 if unknown)
// and its memory to fill again, if kept; the memory is then the caller's.
func (a *appendable) take(ctx context.Context) (int, *scrapeBufs) {
	t, ok := scrape.TargetFromContext(ctx)
	if !ok {
		return 0, nil
	}
	a.targetsMu.Lock()
	defer a.targetsMu.Unlock()
	st := a.targets[t]
	if st == nil {
		return 0, nil
	}
	bufs := st.bufs
	st.bufs = nil
	return st.series, bufs
}

// remember records the size of the target's scrape and keeps bufs (nil:
// nothing) for its next one. Targets not scraped for a while are
// forgotten, so removed targets leave nothing behind.
func (a *appendable) remember(ctx context.Context, series int, bufs *scrapeBufs) {
	t, ok := scrape.TargetFromContext(ctx)
	if !ok {
		return
	}
	now := time.Now()
	a.targetsMu.Lock()
	defer a.targetsMu.Unlock()
	if a.targets == nil {
		a.targets = make(map[*scrape.Target]*targetState)
	}
	a.targets[t] = &targetState{series: series, at: now, bufs: bufs}
	if now.Sub(a.swept) > sizeIdle {
		for k, v := range a.targets {
			if now.Sub(v.at) > sizeIdle {
				delete(a.targets, k)
			}
		}
		a.swept = now
	}
}

// sizeIdle is how long a target's state is kept without a scrape.
const sizeIdle = 10 * time.Minute

// release empties the appender's memory for the target's next scrape, or
// returns nil when the sink does not allow reusing it. Series entries are
// cleared so that they keep no label sets, histograms or exemplars alive.
func (ap *appender) release() *scrapeBufs {
	if !ap.a.reuse || ap.series == nil {
		return nil
	}
	clear(ap.series)
	index := ap.index
	if ap.ord.fast {
		index = nil // the scrape followed the last one's order: keep no map
	}
	clear(index)
	bufs := &scrapeBufs{series: ap.series[:0], first: ap.first[:0], index: index, ord: ap.ord.nextOrder()}
	ap.series, ap.first, ap.index = nil, nil, nil // the next scrape's now
	return bufs
}
