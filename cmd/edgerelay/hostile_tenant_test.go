package main

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
)

// wideConn opens a connection as tenant wide's site with its certificate
// and HELLOs with queueID, retrying while the tenant's connections just
// closed are still counted (at most 10 s).
func (h *hostileEnv) wideConn(t *testing.T, site string, queueID uint64) *rawConn {
	t.Helper()
	conf := h.clientTLS(t, "edge-wide-"+site+".pem", "edge-wide-"+site+"-key.pem")
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc, err := h.wideHello(conf, site, queueID)
		if err == nil {
			return rc
		}
		if time.Now().After(deadline) {
			t.Fatalf("wide/%s queue %d: %v", site, queueID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *hostileEnv) wideHello(conf *tls.Config, site string, queueID uint64) (*rawConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := h.dial(ctx, conf)
	if err != nil {
		return nil, err
	}
	if err := rc.hello("wide", site, "", queueID); err != nil {
		rc.close()
		return nil, err
	}
	return rc, nil
}

// wideTenant: tenant wide (max_connections 3, max_queues_per_site 2)
// holds at most 3 connections over its two sites, the 4th refused with
// the reason and counted; a site sending from a third queue id makes the
// cloud forget the least recently used one, counted, while a kept queue's
// resend is still a duplicate. Both limits show in /metrics.
func (h *hostileEnv) wideTenant(t *testing.T) {
	for series, want := range map[string]float64{
		`edgerelay_cloud_limit_max_connections{tenant="wide"}`:     3,
		`edgerelay_cloud_limit_max_queues_per_site{tenant="wide"}`: 2,
		`edgerelay_cloud_limit_max_connections{tenant="good"}`:     10000,
	} {
		if got := h.metric(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	refusedBefore := h.metric(t, "edgerelay_transport_refused_total")
	h.during(t, "one tenant's connections over many sites", func(stop <-chan struct{}) {
		held := []*rawConn{h.wideConn(t, "w1", 1), h.wideConn(t, "w1", 2), h.wideConn(t, "w2", 3)}
		defer func() {
			for _, rc := range held {
				rc.close()
			}
		}()
		conf := h.clientTLS(t, "edge-wide-w2.pem", "edge-wide-w2-key.pem")
		rc, err := h.wideHello(conf, "w2", 4)
		if err == nil {
			rc.close()
			t.Fatal("a 4th connection of tenant wide (max_connections 3) was welcomed")
		}
		if !strings.Contains(err.Error(), `tenant "wide" already holds 3 connections`) {
			t.Fatalf("4th connection of tenant wide: %v, want refused for the tenant holding 3 connections", err)
		}
		<-stop
	})
	if got := h.metric(t, "edgerelay_transport_refused_total"); got < refusedBefore+1 {
		t.Errorf("refused connections counted %v, want 1", got-refusedBefore)
	}

	send := func(queueID uint64) {
		t.Helper()
		rc := h.wideConn(t, "w1", queueID)
		defer rc.close()
		now := time.Now().UnixMilli()
		blk := &relay.Block{Tenant: "wide", Site: "w1", Batches: []*relay.Batch{scrapeBatch("j", "h:1", []relay.Series{{
			Labels: labels.FromStrings("__name__", "up", "job", "j", "instance", "h:1"), Samples: []relay.Sample{{T: now, V: 1}}}})}}
		rc.str.Write(blockFrame(1, block.Encode(nil, blk)))
		typ, reason, err := rc.answer()
		if err != nil || typ != frameAck {
			t.Fatalf("block 1 of queue %d: frame %#x %q %v, want ACK", queueID, typ, reason, err)
		}
	}
	dupBefore := h.metric(t, `edgerelay_cloud_blocks_total{outcome="duplicate"}`)
	for q := uint64(10); q <= 12; q++ {
		send(q)
	}
	if got := h.metric(t, `edgerelay_cloud_dedup_queues_evicted_total{tenant="wide"}`); got != 1 {
		t.Errorf(`edgerelay_cloud_dedup_queues_evicted_total{tenant="wide"} = %v after 3 queue ids, limit 2; want 1`, got)
	}
	send(12)
	if got := h.metric(t, `edgerelay_cloud_blocks_total{outcome="duplicate"}`); got != dupBefore+1 {
		t.Errorf("duplicates grew by %v after resending a kept queue's block, want 1", got-dupBefore)
	}
	h.checkAlive(t)
}
