// Package output is how the cloud hands what it receives to the places it
// goes: the one interface every output implements — the files (package
// files), the /federate store (package federate), remote_write out
// (package rwout) — and the fan-out that gives each received block to all
// of them. The receive path that calls it is relay/cloud/receive.go:
// receive (authenticate, deduplicate, decode) → Deliver to the outputs →
// commit → acknowledge → Committed.
//
// Deliver is called concurrently for blocks of different sites (one
// connection delivers one block at a time, or several in order through
// DeliverAll), so an output is safe for concurrent use. A block an output failed is not acknowledged: the edge
// sends it again and every output gets the same Delivery again (same
// QueueID and Seq), so Deliver must take a repeat without harm (files and
// /federate overwrite; an output with its own durable queue skips what it
// holds already). A block committed is never delivered again.
package output

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/edgerelay/edgerelay/relay"
)

// Delivery is one received block, as every output sees it: authenticated,
// deduplicated, its delta frames rebuilt into scrapes, its series admitted
// by the tenant's limits and labelled with the tenant. It is shared by all
// outputs: read it, never change it. An output reads it while its Deliver
// or Committed runs; after that the cloud may reuse the arrays of the
// batches' series and float samples for later blocks, unless a Committer
// called Keep. Label sets, metadata, histograms and exemplars are never
// reused and may be kept.
type Delivery struct {
	// Tenant and Site are those the edge's credential names (or, for an
	// imported bundle, those its blocks name, the tenant accepted by the
	// cloud).
	Tenant, Site string
	// QueueID and Seq identify the block in its edge's queue: a resent
	// block has the same pair.
	QueueID, Seq uint64
	// Batches are the block's batches, in order: whole batches first, then
	// the scrapes its delta frames carried.
	Batches []*relay.Batch

	kept bool // Keep was called
}

// Keep tells the cloud that a Committer reads d after Committed returned:
// d's batches are then never reused. Call it from Committed.
func (d *Delivery) Keep() { d.kept = true }

// Kept reports whether Keep was called.
func (d *Delivery) Kept() bool { return d.kept }

// Output is one place received blocks go.
type Output interface {
	// Name names the output in errors and logs: "files", "federate",
	// "remote_write <name>".
	Name() string
	// Deliver takes one block. It returns nil once the block is as durable
	// as the output promises (files: on disk; /federate: in memory;
	// remote_write: in its own queue on disk); the block is then
	// committed and acknowledged once every output returned nil. An error
	// holds the block at the edge, which sends it again.
	Deliver(ctx context.Context, d *Delivery) error
	// Run does the output's background work (retention, expiry, draining
	// a queue) until ctx ends, then returns nil.
	Run(ctx context.Context) error
}

// Committer is an Output that acts only on what is committed (a hook that
// announces new files, a stream to subscribers): after every output took a
// block and the cloud made it durable, Committed is called once with the
// block's Delivery, before the edge is acknowledged. It must not block. It
// may keep d and read it after it returns (the stream hands it to each
// subscriber's goroutine) once it called d.Keep: a kept Delivery's
// batches are never changed or reused.
type Committer interface {
	Committed(d *Delivery)
}

// Fanout gives each block to its outputs, in order.
type Fanout []Output

// Deliver gives d to every output in order and stops at the first error,
// which names the output.
func (f Fanout) Deliver(ctx context.Context, d *Delivery) error {
	for _, o := range f {
		if err := o.Deliver(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", o.Name(), err)
		}
	}
	return nil
}

// GroupOutput is an Output that takes several blocks at once more cheaply
// than one by one (one durable write for all): DeliverAll has the effect
// of Deliver called for each block in order, and returns nil once every
// block is as durable as Deliver promises. On error, any of the blocks
// may have been taken; all are delivered again.
type GroupOutput interface {
	Output
	DeliverAll(ctx context.Context, ds []*Delivery) error
}

// DeliverAll gives the blocks ds, in order, to every output in order (all
// of ds to one output, then to the next) and stops at the first error,
// which names the output.
func (f Fanout) DeliverAll(ctx context.Context, ds []*Delivery) error {
	for _, o := range f {
		if g, ok := o.(GroupOutput); ok && len(ds) > 1 {
			if err := g.DeliverAll(ctx, ds); err != nil {
				return fmt.Errorf("%s: %w", o.Name(), err)
			}
			continue
		}
		for _, d := range ds {
			if err := o.Deliver(ctx, d); err != nil {
				return fmt.Errorf("%s: %w", o.Name(), err)
			}
		}
	}
	return nil
}

// Committed tells every Committer among the outputs that d is committed.
func (f Fanout) Committed(d *Delivery) {
	for _, o := range f {
		if c, ok := o.(Committer); ok {
			c.Committed(d)
		}
	}
}

// Close closes every output that holds something open (io.Closer: a
// queue on disk), after Run returned; it returns the first error.
func (f Fanout) Close() error {
	var errs []error
	for _, o := range f {
		if c, ok := o.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Run runs every output's Run until ctx ends or one of them fails.
func (f Fanout) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, o := range f {
		g.Go(func() error {
			if err := o.Run(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", o.Name(), err)
			}
			return nil
		})
	}
	return g.Wait()
}
