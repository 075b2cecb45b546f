package edge

import (
	"fmt"
	"log/slog"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay"
)

// spaceGuard refuses batches while the queue's filesystem has less than
// reserve bytes free. Badger writes its memtables through memory-mapped,
// sparse files: on a full filesystem such a write is a SIGBUS, not an
// error, so the edge must stop writing before the disk is full rather than
// after. Free space is read for every batch (one statfs call); a disk
// filled by another process between that check and the write can still
// hurt, which is why the reserve is larger than a memtable.
type spaceGuard struct {
	dir     string
	reserve uint64
	log     *slog.Logger

	mu   sync.Mutex
	free uint64
	full bool // inside a low-space episode (logged once)

	refused prometheus.Counter
}

func newSpaceGuard(dir string, reserve uint64, log *slog.Logger, reg prometheus.Registerer) *spaceGuard {
	g := &spaceGuard{dir: dir, reserve: reserve, log: log,
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_queue_refused_batches_total",
			Help: "Batches refused (remote_write 503, scrape not taken) because the queue's disk had less than queue.min_free_bytes free.",
		}),
	}
	reg.MustRegister(g.refused, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgerelay_queue_disk_free_bytes", Help: "Free bytes on the queue's filesystem.",
	}, func() float64 { g.mu.Lock(); defer g.mu.Unlock(); return float64(g.free) }))
	return g
}

// check returns an error wrapping relay.ErrQueueFull while space is short.
func (g *spaceGuard) check() error {
	if g.reserve == 0 {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.dir, &st); err == nil {
		g.free = st.Bavail * uint64(st.Bsize)
	}
	if g.free >= g.reserve {
		if g.full {
			g.log.Info("disk space is back; taking data again", "dir", g.dir, "free_bytes", g.free)
			g.full = false
		}
		return nil
	}
	if !g.full {
		g.log.Error("disk almost full; refusing data until space returns", "dir", g.dir,
			"free_bytes", g.free, "min_free_bytes", g.reserve)
		g.full = true
	}
	g.refused.Inc()
	return fmt.Errorf("%w: %d bytes free on %s, queue.min_free_bytes is %d", relay.ErrQueueFull, g.free, g.dir, g.reserve)
}
