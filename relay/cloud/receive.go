package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/federate"
	"github.com/edgerelay/edgerelay/relay/cloud/limits"
	"github.com/edgerelay/edgerelay/relay/cloud/meta"
	"github.com/edgerelay/edgerelay/relay/cloud/notify"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/cloud/stream"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// receiver is the cloud's receive path. Every block, from an edge's
// connection (handle) or from an imported bundle (importBlock), goes
// through the same steps, all in this file:
//
//  1. receive: whose block it is (the transport authenticated the edge; an
//     imported block names its tenant, which the cloud must accept),
//     whether it was handled already (dedup.go), decoding
//     (internal/wire/block) and rebuilding its delta frames against the
//     site's bases (bases.go);
//  2. admit: the tenant's limits and label checks (package limits),
//     remote_write metadata (package meta), the tenant label;
//  3. fan out: every output takes the block (package output: files,
//     remote_write out, /federate, in that order);
//  4. commit: the bases and the deduplication watermark are made durable,
//     then the outputs that act only on committed blocks are told;
//  5. acknowledge: the edge may delete the block (over the tenant's rate
//     limits the acknowledgement waits).
//
// A step that fails leaves the block unacknowledged, with nothing it did
// to the bases kept: the edge sends it again. Blocks of a connection that
// arrived together are handled as a group (group.go): those without delta
// frames share steps 3 and 4. Handling is safe for concurrent use across
// connections; one connection's blocks come one group at a time.
type receiver struct {
	cfg *config.Cloud // as started; a reload changes live
	// live is the configuration last applied (reload.go): limits, tenants.
	live    atomic.Pointer[config.Cloud]
	log     *slog.Logger
	reg     *prometheus.Registry
	auth    *authenticator
	marks   *watermarks
	bases   *bases
	limits  *limits.Limiter // per tenant (limitwire.go)
	meta    *meta.Store
	outputs output.Fanout
	fed     *federate.Store  // one of outputs, served over HTTP
	stream  *stream.Hub      // one of outputs, served over HTTP
	notify  *notify.Notifier // announces the files output's directories; nil without cloud.notify
	sites   *sites           // per site: last block, lag (sites.go)

	received   prometheus.Counter
	blocks     *prometheus.CounterVec
	duplicates prometheus.Counter
	frames     *prometheus.CounterVec
	// relayRefused counts chained blocks refused (relayed.go).
	relayRefused *prometheus.CounterVec
	// baseDropped counts delta bases dropped at max_base_series.
	baseDropped *prometheus.CounterVec
	// applied, when set, learns the generation of each block with frames
	// once it is durable (cloud.cluster drains a site by it).
	applied func(p transport.Peer, lane uint8, gen uint64)
}

// receipt is what handling one block came to.
type receipt struct {
	samples   int   // accepted
	refused   int   // samples refused by the tenant's limits or label checks
	resync    bool  // the edge must start a new delta generation
	duplicate bool  // handled before: nothing done
	newest    int64 // newest sample timestamp, ms
}

// handle takes one block from an authenticated edge: a group of one
// (handleGroup).
func (r *receiver) handle(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (transport.Ack, error) {
	acks, err := r.handleGroup(ctx, p, []transport.Block{{Seq: seq, Lane: lane, Data: data}})
	if err != nil {
		return transport.Ack{}, err
	}
	return acks[0], nil
}

// fromEdge receives a block of edge p: a duplicate is dropped before it is
// decoded, and the block must name p's tenant and site.
func (r *receiver) fromEdge(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (receipt, error) {
	blk, dup, err := r.open(p, seq, data, "block", true)
	if dup || err != nil {
		return receipt{duplicate: dup}, err
	}
	return r.apply(ctx, p, seq, lane, blk)
}

// open is how every block of an edge's connection, BASE frames (replay.go)
// included, begins: p must still be accepted; with dedup, a block handled
// before is dropped (dup) before it is decoded; the block must decode and
// name p's tenant and site. what names the block in errors.
func (r *receiver) open(p transport.Peer, seq uint64, data []byte, what string, dedup bool) (blk *relay.Block, dup bool, err error) {
	if !r.auth.stillAccepted(p) {
		r.blocks.WithLabelValues("refused").Inc()
		return nil, false, fmt.Errorf("tenant %q site %q is no longer in cloud.tenants (configuration reloaded); the connection closes", p.Tenant, p.Site)
	}
	if dedup {
		if dup, err := r.handled(p, seq); dup || err != nil {
			return nil, dup, err
		}
	}
	if blk, err = block.Decode(data); err != nil {
		r.blocks.WithLabelValues("corrupt").Inc()
		r.log.Error("undecodable block held at the edge", "tenant", p.Tenant, "site", p.Site, "seq", seq, "err", err)
		return nil, false, fmt.Errorf("decode %s %d: %w", what, seq, err)
	}
	if blk.Tenant != p.Tenant || blk.Site != p.Site {
		r.blocks.WithLabelValues("refused").Inc()
		return nil, false, fmt.Errorf("%s %d names tenant %q site %q, connection is tenant %q site %q", what, seq, blk.Tenant, blk.Site, p.Tenant, p.Site)
	}
	return blk, false, nil
}

// importBlock receives block seq of edge queue queueID from a bundle
// carried across an air gap: no connection vouches for it, so its tenant
// is the one it names, if the cloud accepts that tenant (every valid name
// when cloud.tenants lists none).
func (r *receiver) importBlock(ctx context.Context, queueID, seq uint64, lane uint8, data []byte) (receipt, error) {
	blk, err := block.Decode(data)
	if err != nil {
		return receipt{}, fmt.Errorf("block %d: %w", seq, err)
	}
	if !r.auth.knows(blk.Tenant) {
		return receipt{}, fmt.Errorf("block %d belongs to tenant %q, which is not a valid name or not listed in cloud.tenants", seq, blk.Tenant)
	}
	p := transport.Peer{Tenant: blk.Tenant, Site: blk.Site, QueueID: queueID}
	if dup, err := r.handled(p, seq); dup || err != nil {
		return receipt{duplicate: dup}, err
	}
	return r.apply(ctx, p, seq, lane, blk)
}

// handled reports whether block seq of p's queue was handled before.
func (r *receiver) handled(p transport.Peer, seq uint64) (bool, error) {
	seen, err := r.marks.seen(p.Tenant, p.Site, p.QueueID, seq)
	if err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return false, err
	}
	if seen {
		r.duplicates.Inc()
	}
	return seen, nil
}

// apply takes a decoded block of p's through rebuild, admit, fan-out and
// commit.
func (r *receiver) apply(ctx context.Context, p transport.Peer, seq uint64, lane uint8, blk *relay.Block) (receipt, error) {
	var sb *siteBase
	if len(blk.Frames) > 0 {
		var err error
		if sb, err = r.bases.get(p.Tenant, p.Site, p.QueueID, lane); err != nil {
			r.blocks.WithLabelValues("error").Inc()
			return receipt{}, fmt.Errorf("block %d: %w", seq, err)
		}
		// Until the block is committed, what it applies to the base is
		// forgotten on failure: the resent block applies again.
		defer func() {
			if sb != nil {
				sb.discard()
			}
		}()
	}
	whole := len(blk.Batches)
	applied, fc, err := r.rebuild(p, seq, lane, sb, blk)
	var nb *transport.NeedBaseError
	if errors.As(err, &nb) {
		r.blocks.WithLabelValues("need_base").Inc()
		return receipt{}, err
	}
	if err != nil {
		r.blocks.WithLabelValues("corrupt").Inc()
		r.log.Error("undecodable delta frame held at the edge", "tenant", p.Tenant, "site", p.Site, "seq", seq, "err", err)
		return receipt{}, fmt.Errorf("block %d: %w", seq, err)
	}
	refused, err := r.admit(p, blk, whole, sb)
	if err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return receipt{}, fmt.Errorf("block %d: %w", seq, err)
	}
	d := &output.Delivery{Tenant: p.Tenant, Site: p.Site, QueueID: p.QueueID, Seq: seq, Batches: blk.Batches}
	if err := r.outputs.Deliver(ctx, d); err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return receipt{}, fmt.Errorf("block %d: %w", seq, err)
	}
	resync, err := r.commit(p, seq, sb, applied)
	sb = nil // committed or not, commit released it
	if err != nil {
		r.blocks.WithLabelValues("error").Inc()
		return receipt{}, fmt.Errorf("block %d: %w", seq, err)
	}
	r.outputs.Committed(d)
	if r.applied != nil && len(blk.Frames) > 0 {
		r.applied(p, lane, blk.Generation)
	}
	r.blocks.WithLabelValues("accepted").Inc()
	r.frames.WithLabelValues("applied").Add(float64(len(applied)))
	r.frames.WithLabelValues("repeat").Add(float64(fc.repeat))
	r.frames.WithLabelValues("no_base").Add(float64(fc.noBase))
	n := blk.Samples()
	r.received.Add(float64(n))
	// A frame without its base: the edge starts a new generation.
	rc := receipt{samples: n, refused: refused, resync: resync || fc.noBase > 0, newest: newestSample(blk)}
	if !d.Kept() {
		putArrays(fc.arrays) // every output is done with the block, and so is apply
	}
	return rc, nil
}

// rebuild applies the block's delta frames to the site's base sb (nil when
// the block has none), in order, appending the scrapes they carry to
// blk.Batches, tenant labelled, and returns the frames applied. A frame already in the base
// is skipped; an incremental frame without its base is counted and logged,
// its scrape lost (the edge is asked for a new generation, full frames),
// unless the edge can still resend the blocks that build the base
// (protocol version 6, replay.go): then the block fails with a
// *transport.NeedBaseError and nothing of it is kept. A frame that does
// not parse fails the block. The caller counts the outcomes once the block
// is durable.
func (r *receiver) rebuild(p transport.Peer, seq uint64, lane uint8, sb *siteBase, blk *relay.Block) ([][]byte, frameCounts, error) {
	var fc frameCounts
	if sb == nil {
		return nil, fc, nil
	}
	if n := sb.replayFailed; n > 0 {
		sb.replayFailed = 0
		r.frames.WithLabelValues("replay_failed").Add(float64(n))
		r.log.Warn("persisted delta bases were damaged (a checkpoint set aside as .state.corrupt, or log frames that did not apply); their targets need a full frame",
			"tenant", p.Tenant, "site", p.Site, "frames", n)
	}
	var applied [][]byte
	for _, f := range blk.Frames {
		h, err := delta.ParseHeader(f)
		if err != nil {
			return nil, fc, err
		}
		if sb.dec.Applied(h) {
			fc.repeat++
			continue
		}
		scr, err := sb.dec.Apply(f)
		var need *delta.ErrNeedFull
		if errors.As(err, &need) && p.CanReplay(lane) && h.Generation != sb.limitGen {
			return nil, fc, needBase(p, seq, lane, h)
		}
		if errors.As(err, &need) {
			fc.noBase++
			job, instance := delta.SplitTarget(h.Target)
			r.log.Warn("delta frame without its base: scrape lost", "tenant", p.Tenant, "site", p.Site,
				"seq", seq, "job", job, "instance", instance, "generation", h.Generation, "k", h.K)
			continue
		}
		if err != nil {
			return nil, fc, err
		}
		a := batchArrays.Get().(*deltaconv.Arrays)
		b, err := sb.rb.BatchInto(scr, a)
		delta.Release(scr) // the batch keeps none of its arrays
		if err != nil {
			return nil, fc, err
		}
		fc.arrays = append(fc.arrays, a)
		blk.Batches = append(blk.Batches, b)
		applied = append(applied, f)
	}
	return applied, fc, nil
}

// frameCounts are the outcomes of one block's frames besides "applied",
// and the arrays its rebuilt batches live in (arrays.go).
type frameCounts struct {
	repeat, noBase int
	arrays         []*deltaconv.Arrays
}

// admit readies every batch of blk for the outputs and returns the number
// of samples refused: every series gets the authenticated tenant as its
// tenant label, whatever the edge sent (the first whole batches here, the
// rebuilt scrapes got it in rebuild), series and metadata a tenant limit
// or a label check refuses are removed (counted and logged by package
// limits; a rebuilt scrape's series once per new series, remembered in
// its base sb), and a remote_write batch gets the metadata known of its
// families.
func (r *receiver) admit(p transport.Peer, blk *relay.Block, whole int, sb *siteBase) (int, error) {
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, b := range blk.Batches[:whole] {
		for i := range b.Series {
			lb.Reset(b.Series[i].Labels)
			lb.Set(tenantLabel, p.Tenant)
			b.Series[i].Labels = lb.Labels()
		}
	}
	refused := 0
	for i, b := range blk.Batches {
		var m *limits.Memo
		if i >= whole && sb != nil {
			m = sb.memo(b)
		}
		refused += r.limits.AdmitMemo(p.Tenant, p.Site, b, m)
		if !b.Scrape {
			// remote_write metadata arrives when it changes; each batch
			// is written with what is known of its families.
			if err := r.meta.Apply(p.Tenant, p.Site, b); err != nil {
				return refused, err
			}
		}
	}
	return refused, nil
}

// tenantLabel is the label every series the cloud passes on carries: the
// authenticated tenant.
const tenantLabel = "tenant"

// commit makes the block's effects durable here: what it applied to the
// site's base sb (nil: none) and the deduplication watermark, after which
// the block is never applied again; with a base, both go in one record
// of its log, made durable by a barrier shared with other sites' records (marklog.go), which also records the mark in r.marks.
// It releases sb either way and reports
// whether the edge must start a new delta generation (its bases were
// dropped at the tenant's max_base_series).
func (r *receiver) commit(p transport.Peer, seq uint64, sb *siteBase, applied [][]byte) (resync bool, err error) {
	if sb != nil {
		if resync, err = r.finishBase(p, sb, applied, &blockMark{p.QueueID, seq}); err != nil || !resync {
			return resync, err
		}
	}
	return resync, r.marks.advance(p.Tenant, p.Site, p.QueueID, seq)
}
