package cloud

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// TestQueuesPerSiteAtTheCloud: a site sending from more queue ids than its
// tenant's max_queues_per_site makes the cloud forget the least recently
// used queue's watermark, counted per tenant; a block resent from that
// queue is then applied again (what docs/security.md warns of), while a
// resend from a kept queue is still a duplicate. The limits show as
// edgerelay_cloud_limit_* gauges.
func TestQueuesPerSiteAtTheCloud(t *testing.T) {
	c := limitedReceiver(t, "    max_queues_per_site: 2\n")
	ctx := context.Background()
	send := func(queue, seq uint64, ts int64) {
		t.Helper()
		p := transport.Peer{Tenant: "acme", Site: "s1", QueueID: queue}
		if _, err := c.handle(ctx, p, seq, 0, scrapeBlock("acme", "s1", ts)); err != nil {
			t.Fatalf("queue %d block %d: %v", queue, seq, err)
		}
	}
	send(1, 1, 1_700_000_000_000)
	send(2, 1, 1_700_000_001_000)
	if v, ok := metrictest.Find(t, c.reg, "edgerelay_cloud_dedup_queues_evicted_total", "tenant", "acme"); ok && v != 0 {
		t.Fatalf("%v queues evicted with 2 queue ids, limit 2", v)
	}
	send(3, 1, 1_700_000_002_000)
	if v := metrictest.Value(t, c.reg, "edgerelay_cloud_dedup_queues_evicted_total", "tenant", "acme"); v != 1 {
		t.Fatalf("edgerelay_cloud_dedup_queues_evicted_total{tenant=acme} = %v, want 1", v)
	}
	send(3, 1, 1_700_000_003_000) // kept: a duplicate
	if got := testutil.ToFloat64(c.duplicates); got != 1 {
		t.Fatalf("duplicates = %v after resending a kept queue's block, want 1", got)
	}
	send(1, 1, 1_700_000_004_000) // evicted: applied again
	if got := testutil.ToFloat64(c.duplicates); got != 1 {
		t.Fatalf("duplicates = %v after resending an evicted queue's block, want still 1 (it is applied again)", got)
	}
	for key, want := range map[string]float64{"max_queues_per_site": 2, "max_connections": 10000} {
		if v := metrictest.Value(t, c.reg, "edgerelay_cloud_limit_"+key, "tenant", "acme"); v != want {
			t.Errorf("edgerelay_cloud_limit_%s{tenant=acme} = %v, want %v", key, v, want)
		}
	}
}
