package edge

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/store"
)

// frameSlack is what a block keeps free of frame bytes for its header and
// zstd's framing, so a block of frames never exceeds max_block_bytes.
const frameSlack = 1024

// deltaEncoder delta-encodes the scrapes of each group commit. It is owned
// by the commit loop; only requestCheckpoint may be called from elsewhere.
//
// Generations keep the queue safe to cut: a new one starts every
// full_every, when the cloud asks for a resync (it lost bases; against a
// protocol version 1 cloud, on every connection instead), after a failed
// append (its frames were never stored), when a live lane starts beside a
// backlog (package lanes), and whenever the current
// generation has grown to an eighth of queue.max_bytes. Every block is queued with its generation as its group,
// and the queue's cap drops whole groups, oldest first: the cloud sees of a
// generation either every frame or a prefix of them, never a frame without
// its base. An eighth of the cap bounds how much one drop removes.
type deltaEncoder struct {
	enc       *delta.Encoder
	fullEvery time.Duration
	genLimit  int64 // bytes of one generation before a checkpoint; 0: none
	started   time.Time
	genBytes  int64
	request   atomic.Bool
	newExtra  atomic.Pointer[labels.Labels] // set by setExtra, taken by encode
	scratch   delta.Scrape
	keys      deltaconv.KeyBuffer // for scrapes keysOf does not take
	keysOf    *seriesKeys
	// clouds decides the frame version: 3 once every upstream's cloud
	// decodes it (protocol 7), else 2.
	clouds *cloudVersions
	// extra are the identity labels merged into every key (and added to
	// the labels of a scrape that goes whole).
	extra labels.Labels

	frames      prometheus.Counter
	fullFrames  prometheus.Counter
	checkpoints prometheus.Counter
	version     prometheus.Gauge
}

func newDeltaEncoder(cfg config.Delta, maxQueueBytes int64, extra labels.Labels, upstreams []string, reg prometheus.Registerer) *deltaEncoder {
	d := &deltaEncoder{
		clouds: newCloudVersions(upstreams),
		extra:  extra,
		keysOf: newSeriesKeys(extra),
		// Generations need only differ, not order: a restarted edge starts
		// at a value no earlier run has used.
		enc:       delta.NewEncoder(uint64(time.Now().UnixNano())),
		fullEvery: cfg.FullEvery,
		genLimit:  maxQueueBytes / 8,
		started:   time.Now(),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_delta_frames_total", Help: "Scrapes delta-encoded, full frames included.",
		}),
		fullFrames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_delta_full_frames_total", Help: "Scrapes encoded as full frames (a target's first in a generation).",
		}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_delta_generations_total", Help: "Delta generations started after the first.",
		}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgerelay_delta_frame_version",
			Help: "Delta frame version of the full frames written now, which each target's later frames keep: 3 once every upstream's cloud decodes it (uplink protocol 7), else 2 (versions 1 and 2).",
		}),
	}
	reg.MustRegister(d.frames, d.fullFrames, d.checkpoints, d.version)
	return d
}

// requestCheckpoint makes the next group commit start a new generation.
func (d *deltaEncoder) requestCheckpoint() { d.request.Store(true) }

// setExtra makes the next group commit start a new generation whose keys
// carry the identity labels extra (external_labels changed on reload):
// the cloud rebuilds every series from full frames under its new labels.
func (d *deltaEncoder) setExtra(extra labels.Labels) { d.newExtra.Store(&extra) }

func (d *deltaEncoder) checkpoint(now time.Time) {
	d.keysOf.forget(d.enc.Generation())
	d.enc.Checkpoint()
	d.started, d.genBytes = now, 0
	d.checkpoints.Inc()
}

// frame is one encoded scrape. A frame too large to share a block has its
// block already encoded in block.
type frame struct {
	data    []byte
	block   []byte
	samples int
	newest  int64
}

// encode turns the scrapes of batches into frames and returns the batches
// that go whole (not scrapes, or a scrape whose frame overflows a block even
// compressed; its target's next frame is then full).
func (d *deltaEncoder) encode(tenant, site string, batches []*relay.Batch, maxBlock int) (frames []frame, whole []*relay.Batch) {
	now := time.Now()
	if extra := d.newExtra.Swap(nil); extra != nil {
		d.extra, d.keysOf = *extra, newSeriesKeys(*extra)
		d.request.Store(true)
	}
	if d.request.Swap(false) || d.clouds.apply(d.enc) || now.Sub(d.started) >= d.fullEvery || (d.genLimit > 0 && d.genBytes >= d.genLimit) {
		d.checkpoint(now)
	}
	d.version.Set(float64(d.enc.FrameVersion()))
	for _, b := range batches {
		if !d.scrapeOf(b) {
			if b.Scrape {
				// Edge.Submit merged identity into every other batch.
				addIdentity(b, d.extra)
			}
			whole = append(whole, b)
			continue
		}
		data := d.enc.AppendFrame(nil, &d.scratch)
		f := frame{data: data, samples: b.Samples(), newest: newest([]*relay.Batch{b})}
		if len(data) > maxBlock-frameSlack {
			// Large (a full frame of a big target): alone in a block, which
			// must fit compressed.
			f.block = block.Encode(nil, &relay.Block{Tenant: tenant, Site: site, Generation: d.enc.Generation(), Frames: [][]byte{data}})
			if len(f.block) > maxBlock {
				d.enc.ForceFull(d.scratch.Target)
				addIdentity(b, d.extra)
				whole = append(whole, b)
				continue
			}
		}
		d.frames.Inc()
		if delta.IsFull(data) {
			d.fullFrames.Inc()
		}
		frames = append(frames, f)
	}
	return frames, whole
}

// blocks packs frames into blocks of at most maxBlock bytes, in order.
func (d *deltaEncoder) blocks(tenant, site string, frames []frame, maxBlock int) []store.Record {
	var recs []store.Record
	gen := d.enc.Generation()
	for len(frames) > 0 {
		if f := frames[0]; f.block != nil {
			d.genBytes += int64(len(f.block))
			recs = append(recs, store.Record{Data: f.block, Samples: f.samples, Time: f.newest, Group: gen})
			frames = frames[1:]
			continue
		}
		blk := &relay.Block{Tenant: tenant, Site: site, Generation: gen}
		size, samples, t := 0, 0, int64(0)
		n := 0
		for n < len(frames) && frames[n].block == nil && (n == 0 || size+len(frames[n].data) <= maxBlock-frameSlack) {
			f := frames[n]
			blk.Frames = append(blk.Frames, f.data)
			size += len(f.data)
			samples += f.samples
			t = max(t, f.newest)
			n++
		}
		frames = frames[n:]
		data := block.Encode(nil, blk)
		d.genBytes += int64(len(data))
		recs = append(recs, store.Record{Data: data, Samples: samples, Time: t, Group: gen})
	}
	return recs
}

// appendFailed starts a new generation: the frames just encoded never
// reached the queue, so the cloud will never hold them as bases.
func (d *deltaEncoder) appendFailed() { d.checkpoint(time.Now()) }
