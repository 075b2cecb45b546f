package edge

import (
	"fmt"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/store"
)

// siteLabels are the labels the edge adds to every series: site and the
// external labels, sorted.
func siteLabels(cfg *config.Edge) labels.Labels {
	b := labels.NewScratchBuilder(len(cfg.ExternalLabels) + 1)
	for k, v := range cfg.ExternalLabels {
		b.Add(k, v)
	}
	b.Add("site", cfg.Site)
	b.Sort()
	return b.Labels()
}

// openQueue opens the edge's queue under data_dir. Past queue.max_bytes it
// drops its oldest blocks, counted and logged, and the remote_write
// metadata they may have carried is sent again; its size is exported as
// edgerelay_queue_{blocks,bytes,samples}.
func (e *Edge) openQueue() error {
	e.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_queue_dropped_samples_total",
		Help: "Samples dropped because the queue reached queue.max_bytes.",
	})
	droppedBlocks := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_queue_dropped_blocks_total",
		Help: "Blocks dropped because the queue reached queue.max_bytes.",
	})
	e.reg.MustRegister(e.dropped, droppedBlocks)
	q, err := store.Open(filepath.Join(e.cfg.DataDir, "queue"), store.Options{
		MaxBytes:      int64(e.cfg.Queue.MaxBytes),
		MaxBlockBytes: int(e.cfg.Queue.MaxBlockBytes),
		Logger:        e.log,
		RetainBytes:   retainBytes(e.cfg),
		OnDrop: func(d store.Dropped) {
			droppedBlocks.Add(float64(d.Blocks))
			e.dropped.Add(float64(d.Samples))
			e.drops.note(d, e.log)
			// The blocks may have carried remote_write metadata.
			e.meta.resend()
		},
	})
	if err != nil {
		return fmt.Errorf("open queue: %w", err)
	}
	e.queue = q
	e.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_queue_blocks", Help: "Blocks waiting in the queue."},
			func() float64 { return float64(q.Stats().Blocks) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_queue_bytes", Help: "Bytes of blocks waiting in the queue."},
			func() float64 { return float64(q.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_queue_samples", Help: "Samples waiting in the queue."},
			func() float64 { return float64(q.Stats().Samples) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_queue_oldest_block_timestamp_seconds",
			Help: "Time (Unix seconds) of the oldest block waiting in the queue; 0 when it is empty. time() minus it is the backlog's age."},
			func() float64 { return float64(q.Stats().OldestTime) / 1e3 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_queue_retained_blocks",
			Help: "Acknowledged blocks of the current delta generation kept to rebuild a cloud's bases (one that took the site over from a cloud that died)."},
			func() float64 { return float64(q.Stats().RetainedBlocks) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgerelay_queue_retained_bytes", Help: "Bytes of the blocks of edgerelay_queue_retained_blocks."},
			func() float64 { return float64(q.Stats().RetainedBytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgerelay_queue_retained_dropped_blocks_total",
			Help: "Acknowledged blocks deleted because their generation outgrew a quarter of queue.max_bytes: a cloud lacking its bases loses the frames that need them."},
			func() float64 { return float64(q.Stats().RetainedDropped) }),
	)
	return nil
}

// retainBytes bounds the acknowledged blocks of the current delta
// generation the queue keeps, so that a cloud taking the site over from
// one that died can rebuild the generation's bases (store.Options
// .RetainBytes, forward.Retainer): a quarter of queue.max_bytes, twice
// what a generation grows to before the next starts. None are kept without
// delta encoding, or with edge.upstreams (whose views keep their own).
func retainBytes(cfg *config.Edge) int64 {
	if cfg.Delta.Disabled || len(cfg.Upstreams) > 0 {
		return 0
	}
	if cfg.Queue.MaxBytes == 0 {
		return 256 << 20
	}
	return int64(cfg.Queue.MaxBytes) / 4
}
