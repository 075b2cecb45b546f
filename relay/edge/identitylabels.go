package edge

import (
	"context"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
)

// Identity labels: every series the edge queues carries its site and the
// external labels, merged into its label set here (scrapes with delta
// encoding get them merged into their delta keys instead, deltaenc.go).

// addIdentity sets site and the external labels extra on every series of
// b; site overrides, external labels never replace a label a series has
// (deltaconv.Merge, as the delta keys are built). The label sets are built
// in a few shared chunks of memory (labelArena), not one allocation each,
// from the bytes of the series' own.
func addIdentity(b *relay.Batch, extra labels.Labels) {
	addIdentityIn(new(labelArena), b, extra)
}

// identityArena is where submitIdentified builds a remote_write batch's
// label sets with identity, and keeps the batch's own label sets meanwhile.
type identityArena struct {
	a    labelArena
	orig []labels.Labels
}

// identityArenas are given back once their batch is committed
// (submitIdentified).
var identityArenas = sync.Pool{New: func() any { return new(identityArena) }}

// submitIdentified is addIdentity, then submit, with b's label sets built
// in a pooled arena that later batches reuse once submit has returned nil
// before ctx was done: the batch is then encoded into the queue and the
// committer keeps nothing of it. b's series then get their own label sets
// back, so nothing the caller holds points into the reused memory (a
// caller may submit the same batch again). After an error, or once ctx is
// done (the commit loop may still hold b), b keeps the label sets with
// identity and the arena is left to the collector.
func submitIdentified(ctx context.Context, b *relay.Batch, extra labels.Labels, submit func(context.Context, *relay.Batch) error) error {
	ia := identityArenas.Get().(*identityArena)
	for i := range b.Series {
		ia.orig = append(ia.orig, b.Series[i].Labels)
	}
	addIdentityIn(&ia.a, b, extra)
	err := submit(ctx, b)
	if err != nil || ctx.Err() != nil || len(b.Series) != len(ia.orig) {
		return err
	}
	for i := range b.Series {
		b.Series[i].Labels = ia.orig[i]
	}
	clear(ia.orig)
	ia.orig = ia.orig[:0]
	ia.a.reset()
	identityArenas.Put(ia)
	return nil
}

// addIdentityIn is addIdentity with the label sets built in a.
func addIdentityIn(a *labelArena, b *relay.Batch, extra labels.Labels) {
	if len(b.Series) == 0 {
		return
	}
	var ex [8]labels.Label
	es := deltaconv.LabelSlice(ex[:0], extra)
	for i := range b.Series {
		b.Series[i].Labels = a.merge(b.Series[i].Labels, es)
	}
}
