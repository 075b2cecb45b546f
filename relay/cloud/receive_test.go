package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// recorder is an output that records what it is given and can be made to
// fail, as a receiver that is down would.
type recorder struct {
	mu        sync.Mutex
	fail      error
	delivered []string
	committed []string
}

func (o *recorder) Name() string                  { return "recorder" }
func (o *recorder) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (o *recorder) Deliver(_ context.Context, d *output.Delivery) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, tenant := 0, 0
	for _, b := range d.Batches {
		for _, s := range b.Series {
			n++
			if s.Labels.Get("tenant") == d.Tenant {
				tenant++
			}
		}
	}
	o.delivered = append(o.delivered, fmt.Sprintf("%s/%s q%d #%d: %d series, %d labelled with the tenant", d.Tenant, d.Site, d.QueueID, d.Seq, n, tenant))
	return o.fail
}

func (o *recorder) Committed(d *output.Delivery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.committed = append(o.committed, fmt.Sprintf("%s/%s q%d #%d", d.Tenant, d.Site, d.QueueID, d.Seq))
}

// TestOutputsTakeEveryBlockOnce: every output takes a block's rebuilt,
// admitted batches (tenant label from the connection) with the block's
// identity; while one output fails the block is not acknowledged nor
// committed and its delta frames are not kept, so the resent block
// reaches every output again, whole, with the same identity; once
// committed it is never delivered again, and only then are committing
// outputs told.
func TestOutputsTakeEveryBlockOnce(t *testing.T) {
	r := testReceiver(t)
	rec := &recorder{fail: errors.New("receiver down")}
	r.outputs = append(r.outputs, rec)
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
	edge := &deltaEdge{enc: delta.NewEncoder(1)}
	first := edge.block()

	if _, err := r.handle(ctx, peer, 1, 0, first); err == nil || !strings.Contains(err.Error(), "recorder: receiver down") {
		t.Fatalf("a block an output failed was acknowledged, or the error does not name the output: %v", err)
	}
	if seen, _ := r.marks.seen("acme", "s1", 7, 1); seen {
		t.Fatal("a block an output failed was committed")
	}
	rec.fail = nil
	if _, err := r.handle(ctx, peer, 1, 0, first); err != nil {
		t.Fatalf("resent block: %v", err)
	}
	if _, err := r.handle(ctx, peer, 1, 0, first); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := r.handle(ctx, peer, 2, 0, edge.block()); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"acme/s1 q7 #1: 10 series, 10 labelled with the tenant", // failed
		"acme/s1 q7 #1: 10 series, 10 labelled with the tenant", // resent
		"acme/s1 q7 #2: 10 series, 10 labelled with the tenant",
	}
	if got := strings.Join(rec.delivered, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("deliveries:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if got := strings.Join(rec.committed, ", "); got != "acme/s1 q7 #1, acme/s1 q7 #2" {
		t.Fatalf("committed: %s", got)
	}
	if n := frames(r, "applied"); n != 2 {
		t.Fatalf("applied frames = %v, want 2 (the failed attempt kept nothing)", n)
	}
}
