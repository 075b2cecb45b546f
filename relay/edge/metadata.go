package edge

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/status"
)

// Bounds of the remote_write metadata an edge keeps.
const (
	// MaxMetadataFamilies is how many metric families' metadata (HELP,
	// TYPE, UNIT) from remote_write senders an edge keeps. Past it the
	// metadata of a new family is refused: not carried, counted in
	// edgerelay_metadata_refused_total and logged.
	MaxMetadataFamilies = 20000
	// MetadataExpiry is how long a family keeps its place without being
	// announced again. Prometheus announces every family it knows each
	// metadata_config.send_interval (1m by default), and remote_write 2.0
	// with every series, so a family silent this long is gone from the
	// sender; it is forgotten when its place is needed.
	MetadataExpiry = time.Hour
)

// metaTracker keeps the latest metadata per metric family that remote_write
// senders announced to this edge, so that a family's metadata is queued
// when it changes and not with every request. Prometheus sends metadata in
// requests of their own (remote_write 1.0) every send_interval, or with
// every series (2.0); both would otherwise cost wire bytes for nothing.
//
// What it queues: a batch carries the families whose metadata is new or
// differs from what was last made durable; after each new uplink
// connection, each resync (the cloud lost its state) and each drop of
// blocks by the queue's cap, the next remote_write batch carries every
// family held, so a cloud that restarted, another cloud behind the same
// address, or one that never got a dropped change, relearns them at once. The
// cloud keeps the newest it has seen by batch timestamp, so a backlog block
// with an older value, drained after the full set, changes nothing.
//
// The tracker learns a value only once the batch carrying it is durable in
// the queue (prepare, then the returned done(true)): a request refused with
// 503 leaves it unlearnt, and the sender's retry carries it again. It is
// safe for concurrent use.
type metaTracker struct {
	max    int
	chunk  int // bytes of metadata in one batch; larger families are refused
	expiry time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	fams      map[string]metaEntry
	conns     uint64 // resend requests so far (connections, resyncs, drops)
	sentConns uint64 // value of conns when a full set was last made durable
	swept     time.Time
	loggedAt  time.Time // last warning about refused families
	refusedN  int       // what refused counts, for the status page

	refused prometheus.Counter
	queued  prometheus.Counter
}

type metaEntry struct {
	md   relay.Metadata
	seen time.Time // last announced
}

func newMetaTracker(max, chunk int, log *slog.Logger, reg prometheus.Registerer) *metaTracker {
	t := &metaTracker{
		max: max, chunk: chunk, expiry: MetadataExpiry, now: time.Now, log: log,
		fams: map[string]metaEntry{},
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_metadata_refused_total",
			Help: "Metadata of metric families from remote_write refused (not carried): the edge already keeps metadata of MaxMetadataFamilies families, or one family's metadata is larger than a quarter of queue.max_block_bytes.",
		}),
		queued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_metadata_queued_families_total",
			Help: "Metadata of metric families from remote_write made durable in the queue: new or changed, or the full set resent after an uplink connection.",
		}),
	}
	reg.MustRegister(t.refused, t.queued, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgerelay_metadata_families",
		Help: "Metric families whose remote_write metadata the edge keeps.",
	}, func() float64 { return float64(t.families()) }))
	return t
}

// rows are the status page's lines about the tracker.
func (t *metaTracker) rows() []status.Row {
	return []status.Row{
		status.R("families kept", fmt.Sprintf("%d of at most %d", t.families(), t.max)),
		status.R("refused since start", fmt.Sprint(t.refusedTotal())),
	}
}

func (t *metaTracker) refusedTotal() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refusedN
}

func (t *metaTracker) families() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.fams)
}

// resend makes the next remote_write batch carry every family held: the
// uplink has a new connection, possibly to a cloud that knows none of it,
// the cloud lost its state (resync), or the queue's cap dropped blocks that
// may have carried metadata.
func (t *metaTracker) resend() {
	t.mu.Lock()
	t.conns++
	t.mu.Unlock()
}

// prepare replaces b.Metadata with what must travel: the families whose
// metadata is new or changed (refusing new ones past the cap), or every
// family held when a full set is due. It returns done, which the caller
// calls with whether b became durable; only then are the values learnt.
func (t *metaTracker) prepare(b *relay.Batch) (done func(durable bool)) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var changed map[string]relay.Metadata
	refused, added := 0, 0
	for fam, md := range b.Metadata {
		e, ok := t.fams[fam]
		if ok && e.md == md {
			e.seen = now
			t.fams[fam] = e
			continue
		}
		if metaSize(fam, md) > t.chunk {
			refused++
			continue
		}
		if !ok {
			if len(t.fams)+added >= t.max && !t.sweep(now, added) {
				refused++
				continue
			}
			added++
		}
		if changed == nil {
			changed = make(map[string]relay.Metadata)
		}
		changed[fam] = md
	}
	if refused > 0 {
		t.refused.Add(float64(refused))
		t.refusedN += refused
		if now.Sub(t.loggedAt) >= time.Minute {
			t.loggedAt = now
			t.log.Warn("remote_write metadata refused: the edge keeps metadata of at most MaxMetadataFamilies families, each at most a quarter of queue.max_block_bytes",
				"max", t.max, "max_bytes", t.chunk, "refused", refused)
		}
	}
	full := t.sentConns < t.conns && (len(t.fams) > 0 || len(changed) > 0)
	conns := t.conns
	switch {
	case full:
		all := make(map[string]relay.Metadata, len(t.fams)+len(changed))
		for fam, e := range t.fams {
			all[fam] = e.md
		}
		maps.Copy(all, changed)
		b.Metadata = all
	default:
		b.Metadata = changed
	}
	sent := len(b.Metadata)
	return func(durable bool) {
		if !durable {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		for fam, md := range changed {
			if _, ok := t.fams[fam]; ok || len(t.fams) < t.max {
				t.fams[fam] = metaEntry{md: md, seen: now}
			}
		}
		if full {
			t.sentConns = max(t.sentConns, conns)
		}
		t.queued.Add(float64(sent))
	}
}

// sweep forgets families not announced within the expiry, at most once a
// minute, and reports whether there is room for one more beside the added
// ones the caller is about to carry. The caller holds t.mu.
func (t *metaTracker) sweep(now time.Time, added int) bool {
	if now.Sub(t.swept) >= time.Minute {
		t.swept = now
		for fam, e := range t.fams {
			if now.Sub(e.seen) > t.expiry {
				delete(t.fams, fam)
			}
		}
	}
	return len(t.fams)+added < t.max
}

// metadataChunk is how many bytes of metadata one batch carries for a
// queue whose blocks hold at most maxBlock bytes: a quarter, so that a
// batch of metadata always fits a block, however much data rides with it
// (a batch too large is split by series, each part with its metadata).
func metadataChunk(maxBlock int) int { return max(maxBlock/4, 1024) }

// metaSize is what one family's metadata costs in a batch, roughly as
// encoded: its strings and a few bytes of references.
func metaSize(fam string, md relay.Metadata) int {
	return len(fam) + len(md.Type) + len(md.Help) + len(md.Unit) + 16
}

// splitMetadata leaves in b at most limit bytes of metadata and returns
// the rest as batches of metadata only, each of at most limit bytes,
// stamped like b. Families go in name order.
func splitMetadata(b *relay.Batch, limit int) []*relay.Batch {
	size := 0
	for fam, md := range b.Metadata {
		size += metaSize(fam, md)
	}
	if size <= limit {
		return nil
	}
	fams := slices.Sorted(maps.Keys(b.Metadata))
	all := b.Metadata
	var out []*relay.Batch
	cur := map[string]relay.Metadata{}
	size = 0
	for _, fam := range fams {
		n := metaSize(fam, all[fam])
		if size+n > limit && len(cur) > 0 {
			out = append(out, &relay.Batch{Timestamp: b.Timestamp, Metadata: cur})
			cur, size = map[string]relay.Metadata{}, 0
		}
		cur[fam] = all[fam]
		size += n
	}
	b.Metadata = cur
	return out
}

// submitRemoteWrite queues a remote_write batch with the metadata that
// must travel (prepare), in as many batches as it takes for each to fit a
// block, and only then lets the tracker learn it.
func (e *Edge) submitRemoteWrite(ctx context.Context, b *relay.Batch) error {
	done := e.meta.prepare(b)
	if len(b.Series) == 0 && len(b.Metadata) == 0 {
		return nil
	}
	if err := e.space.check(); err != nil {
		return err
	}
	for _, m := range splitMetadata(b, e.meta.chunk) {
		if err := e.com.submit(ctx, m); err != nil {
			return err
		}
	}
	err := e.com.submit(ctx, b)
	done(err == nil)
	return err
}
