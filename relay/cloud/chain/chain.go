// Package chain is the cloud's output toward another cloud relay
// (cloud.chain: a region's cloud forwarding to a global one). Each block
// the cloud receives is queued, durably, in a store-and-forward queue of
// its own (package store, in data_dir/chain) before the edge that sent it
// is acknowledged; the edge's forwarder code (package forward) ships the
// queue over QUIC to the next cloud, oldest first, deleting a block only
// once that cloud has made it durable.
//
// What travels is the block as the edge's credential vouched for it —
// tenant, site, and its batches whole (delta frames rebuilt here), every
// series tenant labelled — in the envelope of package
// internal/wire/chained, which carries the block's edge queue id and seq:
// the next cloud deduplicates by those, so a block resent after a crash of
// this relay (or a repeat of the edge's own) is written there once. The
// relay connects as itself (its name and token in the next cloud's
// cloud.relays), and the next cloud accepts only the tenants it lists for
// the relay.
//
// An Output is safe for concurrent use: Deliver is called for blocks of
// different sites at once.
package chain

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/chained"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/forward"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

// MaxBlockBytes bounds one chained block: a block rebuilt from an edge's
// delta frames is larger than the frames were. The next cloud's
// cloud.max_block_bytes must take it.
const MaxBlockBytes = 64 << 20

// Output forwards every delivered block to the next cloud.
type Output struct {
	cfg     *config.Chain
	q       *store.Queue
	fwd     *forward.Forwarder
	log     *slog.Logger
	dropped *prometheus.CounterVec
}

// New opens the queue in dataDir/chain and prepares the forwarder;
// nothing is sent until Run. token is the relay's credential (the
// content of cfg.TokenFile), tls how to reach the next cloud.
func New(cfg *config.Chain, dataDir string, client transport.ClientConfig, log *slog.Logger, reg prometheus.Registerer) (*Output, error) {
	o := &Output{cfg: cfg, log: log.With("output", "chain", "upstream", cfg.Address)}
	o.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_chain_dropped_total",
		Help: "What the chain's queue (cloud.chain.max_bytes) dropped, oldest first, because the next cloud did not take it in time: unit=blocks|samples.",
	}, []string{"unit"})
	reg.MustRegister(o.dropped)
	q, err := store.Open(filepath.Join(dataDir, "chain"), store.Options{
		MaxBytes: int64(cfg.MaxBytes), MaxBlockBytes: MaxBlockBytes, Logger: log,
		OnDrop: func(d store.Dropped) {
			o.dropped.WithLabelValues("blocks").Add(float64(d.Blocks))
			o.dropped.WithLabelValues("samples").Add(float64(d.Samples))
			o.log.Warn("chain queue full: oldest blocks dropped", "blocks", d.Blocks, "samples", d.Samples, "max_bytes", cfg.MaxBytes)
		},
	})
	if err != nil {
		return nil, err
	}
	client.Hello = transport.Hello{Tenant: config.RelayHelloTenant, Site: cfg.Name, Token: client.Hello.Token}
	client.MaxBlockBytes = MaxBlockBytes
	client.Logger = o.log
	o.fwd, err = forward.New(q, forward.Config{
		Client: client, Window: cfg.Window, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
		MaxBatchBytes: MaxBlockBytes, Logger: o.log,
		// The uplink's own series (edgerelay_uplink_*), labelled chain="<name>".
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"chain": cfg.Name}, reg),
	})
	if err != nil {
		q.Close()
		return nil, err
	}
	o.q = q
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgerelay_chain_queue_bytes", Help: "Bytes in the chain's queue on disk, not yet acknowledged by the next cloud.",
	}, func() float64 { return float64(q.Stats().Bytes) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgerelay_chain_queue_blocks", Help: "Blocks in the chain's queue on disk, not yet acknowledged by the next cloud.",
	}, func() float64 { return float64(q.Stats().Blocks) }))
	return o, nil
}

// Name is "chain <address>".
func (o *Output) Name() string { return "chain " + o.cfg.Address }

// Deliver queues d for the next cloud and returns once it is durable.
func (o *Output) Deliver(_ context.Context, d *output.Delivery) error {
	blk := &relay.Block{Tenant: d.Tenant, Site: d.Site, Batches: d.Batches}
	data := chained.Encode(nil, d.QueueID, d.Seq, block.Encode(nil, blk))
	var newest int64
	for _, b := range d.Batches {
		for i := range b.Series {
			for _, s := range b.Series[i].Samples {
				newest = max(newest, s.T)
			}
		}
	}
	if _, err := o.q.Append(store.Record{Data: data, Samples: blk.Samples(), Time: newest}); err != nil {
		return fmt.Errorf("queue for %s: %w", o.cfg.Address, err)
	}
	return nil
}

// Run ships the queue until ctx ends.
func (o *Output) Run(ctx context.Context) error { return o.fwd.Run(ctx) }

// Close closes the queue, after Run returned.
func (o *Output) Close() error { return o.q.Close() }
