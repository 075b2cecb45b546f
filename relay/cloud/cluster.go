package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/member"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// cluster is this cloud's part in cloud.cluster: each site is served by
// the live cloud that rendezvous hashing of "tenant/site" names (package
// member), so a site's files and /federate series are in one cloud.
//
// A cloud sends an edge whose site it does not serve to the one that
// does (transport REDIRECT), at HELLO. A site moving away from a cloud
// that holds its delta bases (a cloud joined, or this one is leaving) is
// drained first, so that nothing is lost or written twice: the cloud
// keeps taking the site's blocks of the delta generation its bases hold,
// acknowledging each with the resync flag, and redirects the edge at its
// first block of a new generation, whose frames start full, so the new
// owner rebuilds every target from that block on. The edge sends one
// connection at a time, and a block is either answered here (durable
// here) or redirected unanswered, so no block is written by two clouds.
//
// A cloud that dies keeps its sites until its lease expires (etcd's TTL);
// then the survivors own them. The new owner lacks the bases of the frames
// the edge encoded against the dead cloud's: it asks the edge to resend
// the acknowledged blocks of that generation (replay.go), and only an edge
// that cannot (older than uplink protocol 6, or it kept nothing) loses
// them (counted as no_base, the edge asked to resync).
type cluster struct {
	cfg  *config.Cluster
	log  *slog.Logger
	set  *member.Set
	self string

	mu   sync.Mutex
	gens map[siteLane]uint64 // generation of the last block with frames applied here

	redirects *prometheus.CounterVec
	drained   prometheus.Counter
	dropped   prometheus.Counter
}

type siteLane struct {
	tenant, site string
	lane         uint8
}

func siteKey(tenant, site string) string { return tenant + "/" + site }

// newCluster registers the cluster's metrics; join makes it a member.
func newCluster(cfg *config.Cluster, log *slog.Logger, reg prometheus.Registerer, owned func(func(tenant, site string) bool) int) *cluster {
	c := &cluster{cfg: cfg, log: log.With("cluster_self", cfg.Self), self: cfg.Self, gens: map[siteLane]uint64{},
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_cluster_redirects_sent_total",
			Help: "Edges sent to the cloud of the cluster serving their site, by when: hello (at connection), block (after draining a site that moved away).",
		}, []string{"at"}),
		drained: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_cluster_drained_blocks_total",
			Help: "Blocks of sites that had moved to another cloud, taken here because they continue the delta generation whose bases this cloud holds.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_cluster_federate_dropped_series_total",
			Help: "Series dropped from /federate because their site moved to another cloud.",
		}),
	}
	c.redirects.WithLabelValues("hello")
	c.redirects.WithLabelValues("block")
	reg.MustRegister(c.redirects, c.drained, c.dropped,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgerelay_cluster_members",
			Help: "Clouds of the cluster live now, as this cloud sees them (itself included unless fenced: cut off from etcd for a lease TTL).",
		}, func() float64 {
			if c.set == nil {
				return 0
			}
			return float64(len(c.set.Live()))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgerelay_cluster_sites_owned",
			Help: "Sites that delivered blocks to this cloud and that it serves now.",
		}, func() float64 {
			if c.set == nil {
				return 0
			}
			return float64(owned(func(t, s string) bool { return c.set.Owns(siteKey(t, s)) }))
		}))
	return c
}

// join makes this cloud a member: at once for a static cluster, for etcd
// once its lease is granted (retried for up to a minute).
func (c *cluster) join(ctx context.Context, addr string) error {
	mc := member.Config{Self: member.Member{ID: c.self, Addr: addr}, Logger: c.log}
	if e := c.cfg.Etcd; e != nil {
		mc.Etcd = &member.EtcdConfig{Endpoints: e.Endpoints, Prefix: e.Prefix, TTL: e.TTL}
	} else {
		for _, m := range c.cfg.Members {
			mc.Static = append(mc.Static, member.Member{ID: m.ID, Addr: m.Address})
		}
	}
	var err error
	deadline := time.Now().Add(time.Minute)
	for {
		jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c.set, err = member.Join(jctx, mc)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		c.log.Warn("cannot join the cluster yet; retrying", "err", err)
		if !relay.Sleep(ctx, 2*time.Second) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("cloud.cluster: %w", err)
	}
	c.log.Info("joined the cluster", "address", addr, "live", len(c.set.Live()))
	return nil
}

// leave ends the membership; the others take this cloud's sites at once.
func (c *cluster) leave() {
	if c.set != nil {
		c.set.Close()
	}
}

// owner returns the cloud serving p's site, and whether it is this one.
func (c *cluster) owner(p transport.Peer) (m member.Member, ok, self bool) {
	m, ok = c.set.Owner(siteKey(p.Tenant, p.Site))
	return m, ok, ok && m.ID == c.self
}

// applied records that a block of p's lane carrying frames of generation
// gen is durable here: its bases now hold that generation.
func (c *cluster) applied(p transport.Peer, lane uint8, gen uint64) {
	c.mu.Lock()
	c.gens[siteLane{p.Tenant, p.Site, lane}] = gen
	c.mu.Unlock()
}

// generation returns the generation of p's lane whose bases this cloud
// holds, if any.
func (c *cluster) generation(p transport.Peer, lane uint8) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.gens[siteLane{p.Tenant, p.Site, lane}]
	return g, ok
}

func (c *cluster) holdsBases(p transport.Peer) bool {
	_, ok0 := c.generation(p, 0)
	_, ok1 := c.generation(p, 1)
	return ok0 || ok1
}

// atHello is the transport's Redirect: an edge whose site another cloud
// serves goes there, unless this cloud holds the site's bases and may
// have to drain it (handle decides at its first block).
func (c *cluster) atHello(p transport.Peer) *transport.RedirectError {
	m, ok, self := c.owner(p)
	if self || c.holdsBases(p) {
		return nil
	}
	c.redirects.WithLabelValues("hello").Inc()
	return redirectTo(p, m, ok)
}

func redirectTo(p transport.Peer, m member.Member, ok bool) *transport.RedirectError {
	if !ok {
		return &transport.RedirectError{Reason: "no cloud of the cluster is live (this one is cut off from etcd)"}
	}
	return &transport.RedirectError{Addr: m.Addr, Member: m.ID,
		Reason: fmt.Sprintf("site %s/%s is served by cloud %q", p.Tenant, p.Site, m.ID)}
}

// groupClustered is the transport's GroupHandler with cloud.cluster: the
// blocks of a site this cloud serves are handled as a group; those of a
// site that moved away one by one (handleClustered).
func (c *Cloud) groupClustered(ctx context.Context, p transport.Peer, blocks []transport.Block) ([]transport.Ack, error) {
	if _, _, self := c.cluster.owner(p); self {
		return c.handleGroup(ctx, p, blocks)
	}
	return transport.OneByOne(c.handleClustered)(ctx, p, blocks)
}

// handleClustered is the transport's Handler with cloud.cluster: a block
// of a site this cloud serves is handled; one of a site that moved away
// is taken only while it continues the generation whose bases this cloud
// holds (acknowledged with the resync flag, so the edge starts a new
// generation), otherwise the edge is sent on, unanswered.
func (c *Cloud) handleClustered(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (transport.Ack, error) {
	cl := c.cluster
	m, ok, self := cl.owner(p)
	if self {
		return c.handle(ctx, p, seq, lane, data)
	}
	if gen, holds := cl.generation(p, lane); holds {
		if blk, err := block.Decode(data); err == nil && blk.Generation == gen {
			a, err := c.handle(ctx, p, seq, lane, data)
			if err == nil {
				cl.drained.Inc()
				a.Resync = true
			}
			return a, err
		}
	}
	cl.redirects.WithLabelValues("block").Inc()
	cl.mu.Lock()
	delete(cl.gens, siteLane{p.Tenant, p.Site, 0})
	delete(cl.gens, siteLane{p.Tenant, p.Site, 1})
	cl.mu.Unlock()
	if n := c.fed.DropSite(p.Tenant, p.Site); n > 0 {
		cl.dropped.Add(float64(n))
	}
	rd := redirectTo(p, m, ok)
	cl.log.Info("site moved to another cloud; its edge is sent there", "tenant", p.Tenant, "site", p.Site, "to", rd.Member, "seq", seq)
	return transport.Ack{}, rd
}

// joinCluster joins cloud.cluster with the address edges are sent to:
// cloud.cluster.address, or the QUIC listener's when that names port 0.
func (c *Cloud) joinCluster(ctx context.Context) error {
	addr := c.cluster.cfg.Address
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		addr = c.QUICAddr().String()
	}
	return c.cluster.join(ctx, addr)
}

// count returns how many known sites f is true of.
func (s *sites) count(f func(tenant, site string) bool) int {
	s.mu.Lock()
	keys := make([][2]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	n := 0
	for _, k := range keys {
		if f(k[0], k[1]) {
			n++
		}
	}
	return n
}

// handOffTimeout bounds how long a cloud leaving its cluster keeps serving
// the edges connected to it, so each is sent on at a generation boundary.
const handOffTimeout = 15 * time.Second

// handOff, when the cloud is stopping (ctx done) as a cluster member,
// leaves the cluster and keeps serving until every connected edge has been
// drained and sent to its site's new cloud, or handOffTimeout.
func (c *Cloud) handOff(ctx context.Context) {
	if c.cluster == nil || ctx.Err() == nil {
		return
	}
	c.cluster.leave()
	start := time.Now()
	for c.srv.Open() > 0 && time.Since(start) < handOffTimeout {
		time.Sleep(50 * time.Millisecond)
	}
	c.log.Info("left the cluster", "handed_off_in", time.Since(start).Round(time.Millisecond), "edges_still_connected", c.srv.Open())
}
