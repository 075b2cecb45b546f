package cloud

import (
	"context"
	"fmt"
	"testing"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// keeper is an output that keeps every other Delivery past Committed, as
// the stream hub does, with a copy of what it read then.
type keeper struct {
	want *relay.Batch // the scrape the next block carries
	bad  string       // how a delivered block differed from want
	n    int
	kept []*output.Delivery
	seen []string // what each kept delivery held when committed
}

func (k *keeper) Name() string              { return "keeper" }
func (k *keeper) Run(context.Context) error { return nil }
func (k *keeper) Deliver(_ context.Context, d *output.Delivery) error {
	if len(d.Batches) != 1 || len(d.Batches[0].Series) != len(k.want.Series) {
		k.bad = fmt.Sprintf("block %d of %s: %d batches, want one of %d series", d.Seq, d.Site, len(d.Batches), len(k.want.Series))
		return nil
	}
	for i, sr := range d.Batches[0].Series {
		if w := k.want.Series[i]; len(sr.Samples) != 1 || sr.Samples[0] != w.Samples[0] || sr.Labels.Get("sensor") != w.Labels.Get("sensor") || sr.Labels.Get("id") != w.Labels.Get("id") {
			k.bad = fmt.Sprintf("block %d of %s, series %d: %v %v, want %v %v", d.Seq, d.Site, i, sr.Labels, sr.Samples, w.Labels, w.Samples)
		}
	}
	return nil
}
func (k *keeper) Committed(d *output.Delivery) {
	k.n++
	if k.n%2 == 0 {
		d.Keep()
		k.kept, k.seen = append(k.kept, d), append(k.seen, render(d))
	}
}

// render writes every series and sample of d.
func render(d *output.Delivery) string {
	s := ""
	for _, b := range d.Batches {
		for _, sr := range b.Series {
			s += fmt.Sprint(sr.Labels.String(), sr.Samples, "\n")
		}
	}
	return s
}

// TestRebuiltArraysReusedOnlyWhenFree: the arrays of rebuilt scrapes are
// reused from block to block and site to site, but never those of a
// Delivery an output kept, and every output reads the block it was given.
func TestRebuiltArraysReusedOnlyWhenFree(t *testing.T) {
	r := testReceiverAt(t, t.TempDir())
	k := &keeper{}
	r.outputs = append(r.outputs, k)
	sites := []*benchSite{newBenchSite("s1", 300), newBenchSite("s2", 200)}
	ctx := context.Background()
	for seq := range uint64(30) {
		for i, s := range sites {
			peer := transport.Peer{Tenant: "acme", Site: s.site, QueueID: uint64(i + 1)}
			blk := s.block()
			k.want = s.batch
			if _, err := r.handle(ctx, peer, seq+1, 0, blk); err != nil {
				t.Fatal(err)
			}
			if k.bad != "" {
				t.Fatal(k.bad)
			}
		}
	}
	if len(k.kept) != 30 {
		t.Fatalf("kept %d deliveries, want 30", len(k.kept))
	}
	for i, d := range k.kept {
		if got := render(d); got != k.seen[i] {
			t.Fatalf("kept delivery %d (%s seq %d) changed after Committed", i, d.Site, d.Seq)
		}
	}
}
