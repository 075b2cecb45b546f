package cloud

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/chained"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// A chaining relay (another cloud's cloud.chain) connects as itself: its
// HELLO names tenant config.RelayHelloTenant and, as site, its name in
// cloud.relays, with that entry's token. Each block it sends is an edge's
// block in the envelope of package internal/wire/chained; the block names
// its tenant and site, which this cloud takes only when the relay's entry
// lists the tenant. It is then received as the edge's own would be:
// deduplicated by the edge's queue id and seq (so a block the relay
// resends, or that reached this cloud another way, is written once),
// admitted by the tenant's limits, written by every output.

// relayAuth is one cloud.relays entry.
type relayAuth struct {
	token   []byte
	tenants map[string]bool
}

// readRelays reads the token files of cloud.relays.
func readRelays(rs []config.Relay) (map[string]*relayAuth, error) {
	m := make(map[string]*relayAuth, len(rs))
	for i, r := range rs {
		tok, err := readToken(r.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("cloud.relays[%d].token_file: %w", i, err)
		}
		ra := &relayAuth{token: tok, tenants: map[string]bool{}}
		for _, t := range r.Tenants {
			ra.tenants[t] = true
		}
		m[r.Name] = ra
	}
	return m, nil
}

// checkRelay authenticates a chaining relay's HELLO.
func (a *authenticator) checkRelay(h transport.Hello, refuse func(string, error) (transport.Peer, error)) (transport.Peer, error) {
	ra := a.relays[h.Site]
	if ra == nil || subtle.ConstantTimeCompare(ra.token, []byte(h.Token)) != 1 {
		return refuse(refusedToken, fmt.Errorf("relay %q is not in cloud.relays, or its token is wrong", h.Site))
	}
	return transport.Peer{Tenant: config.RelayHelloTenant, Site: h.Site, QueueID: h.QueueID}, nil
}

// relayTenant reports whether relay may speak for tenant.
func (a *authenticator) relayTenant(relay, tenant string) bool {
	ra := a.relays[relay]
	return ra != nil && ra.tenants[tenant]
}

// fromRelay receives a block a chaining relay p passes on. A block of a
// tenant the relay may not speak for, or that is not whole (delta frames
// stay between an edge and its first cloud), is refused: acknowledged with
// all its samples counted as refused at the relay, and here in
// edgerelay_cloud_relay_refused_blocks_total{relay,reason}, so it does not
// hold up the relay's queue. A block that does not decode is held at the
// relay.
func (r *receiver) fromRelay(ctx context.Context, p transport.Peer, data []byte) (transport.Ack, error) {
	queueID, seq, inner, err := chained.Decode(data)
	var b *relay.Block
	if err == nil {
		b, err = block.Decode(inner)
	}
	if err != nil {
		r.blocks.WithLabelValues("corrupt").Inc()
		r.log.Error("undecodable chained block held at the relay", "relay", p.Site, "err", err)
		return transport.Ack{}, err
	}
	refuse := func(reason string) (transport.Ack, error) {
		r.relayRefused.WithLabelValues(p.Site, reason).Inc()
		r.blocks.WithLabelValues("refused").Inc()
		r.log.Warn("chained block refused", "relay", p.Site, "tenant", b.Tenant, "site", b.Site, "reason", reason)
		return transport.Ack{Refused: uint64(b.Samples())}, nil
	}
	switch {
	case !config.ValidName(b.Tenant) || !config.ValidName(b.Site):
		return refuse("bad_name")
	case !r.auth.relayTenant(p.Site, b.Tenant):
		return refuse("tenant_not_allowed")
	case len(b.Frames) > 0:
		return refuse("delta_frames")
	}
	op := transport.Peer{Tenant: b.Tenant, Site: b.Site, QueueID: queueID, Remote: p.Remote}
	if dup, err := r.handled(op, seq); dup || err != nil {
		return transport.Ack{}, err
	}
	rc, err := r.apply(ctx, op, seq, 0, b)
	if err != nil {
		return transport.Ack{}, err
	}
	r.sites.received(op, len(data), rc.samples, rc.newest)
	return transport.Ack{Refused: uint64(rc.refused)}, r.limits.Throttle(ctx, op.Tenant, rc.samples, len(data))
}

// newRelayRefused is edgerelay_cloud_relay_refused_blocks_total.
func newRelayRefused(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_relay_refused_blocks_total",
		Help: "Blocks a chaining relay passed on that were refused, by relay and reason: tenant_not_allowed (not in its cloud.relays tenants), bad_name, delta_frames. Their samples count as refused at the relay.",
	}, []string{"relay", "reason"})
	reg.MustRegister(c)
	return c
}
