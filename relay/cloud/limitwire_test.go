package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

func limitedReceiver(t *testing.T, limits string) *receiver {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("cloud:\n  data_dir: " + dir + "/cloud\n  files_dir: " + dir + "/files\n  limits:\n" + limits))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newReceiver(cfg.Cloud, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSeriesLimitAtTheCloud: a block with more new series than the
// tenant's max_series is acknowledged; the series past the limit reach no
// output and are counted by tenant and reason, the others are written.
func TestSeriesLimitAtTheCloud(t *testing.T) {
	c := limitedReceiver(t, "    max_series: 5\n")
	b := &relay.Batch{Scrape: true, Job: "j", Instance: "h:1", Timestamp: 1_700_000_000_000}
	for i := range 8 {
		b.Series = append(b.Series, relay.Series{
			Labels:  labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "instance", "h:1", "job", "j", "site", "s1"),
			Samples: []relay.Sample{{T: b.Timestamp, V: 1}},
		})
	}
	data := block.Encode(nil, &relay.Block{Tenant: "acme", Site: "s1", Batches: []*relay.Batch{b}})
	ack, err := c.handle(context.Background(), transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}, 1, 0, data)
	if err != nil {
		t.Fatalf("a block over the series limit was not acknowledged: %v", err)
	}
	if ack.Refused != 3 {
		t.Errorf("the block's Ack counts %d refused samples, want 3", ack.Refused)
	}
	if got := c.fed.Series(); got != 5 {
		t.Errorf("/federate holds %d series, want 5", got)
	}
	if got := testutil.ToFloat64(c.received); got != 5 {
		t.Errorf("received samples = %v, want 5", got)
	}
	if got := testutil.ToFloat64(c.limits.RefusedSamples("acme", "per_tenant_series_limit")); got != 3 {
		t.Errorf("refused samples = %v, want 3", got)
	}
}

// TestBaseSeriesLimit: when a tenant's delta bases would hold more than
// max_base_series, the block's scrape is still written, then the site's
// base is dropped from memory and disk and counted; its next incremental
// frame finds no base (counted; the edge is not asked to resend the
// generation's blocks), and a new generation applies again.
func TestBaseSeriesLimit(t *testing.T) {
	c := limitedReceiver(t, "    max_base_series: 15\n")
	ctx := context.Background()
	e1 := &deltaEdge{enc: delta.NewEncoder(1), site: "s1"}
	e2 := &deltaEdge{enc: delta.NewEncoder(2), site: "s2"}
	p1 := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}
	p2 := transport.Peer{Tenant: "acme", Site: "s2", QueueID: 2, Version: 6}
	if _, err := c.handle(ctx, p1, 1, 0, e1.block()); err != nil {
		t.Fatal(err)
	}
	if got := c.bases.tenantSeries("acme"); got != 10 {
		t.Fatalf("bases hold %d series, want 10", got)
	}
	// Site s2's ten more series take the tenant past 15: the block is
	// acknowledged, asking s2 for full frames.
	ack, err := c.handle(ctx, p2, 1, 0, e2.block())
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Resync {
		t.Errorf("the block that dropped s2's base answered %+v, want a resync", ack)
	}
	if got := c.bases.tenantSeries("acme"); got != 10 {
		t.Errorf("bases hold %d series after the drop, want 10 (s1's)", got)
	}
	if got := testutil.ToFloat64(c.baseDropped.WithLabelValues("acme")); got != 1 {
		t.Errorf("bases dropped = %v, want 1", got)
	}
	if got := frames(c, "applied"); got != 2 {
		t.Errorf("applied frames = %v, want 2 (the dropping block's scrape is written)", got)
	}
	sb := c.bases.m[baseKey("acme", "s2", 2, 0)]
	if _, err := os.Stat(sb.path + ".log"); !os.IsNotExist(err) {
		t.Errorf("dropped base's log still on disk: %v", err)
	}
	// s2's next incremental frame has no base, and its edge, though it
	// could resend the generation's blocks, is not asked: the limit would
	// drop their bases again. A new generation applies.
	if _, err := c.handle(ctx, p2, 2, 0, e2.block()); err != nil {
		t.Fatal(err)
	}
	if got := frames(c, "no_base"); got != 1 {
		t.Errorf("no_base frames = %v, want 1", got)
	}
	// s1 keeps its base and goes on incrementally.
	if _, err := c.handle(ctx, p1, 2, 0, e1.block()); err != nil {
		t.Fatal(err)
	}
	if got := frames(c, "applied"); got != 3 {
		t.Errorf("applied frames = %v, want 3", got)
	}
}
