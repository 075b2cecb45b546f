package edge

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/member"
	"github.com/edgerelay/edgerelay/relay/scrapeshard"
)

// newEtcdShard is the share of an etcd membership (package member): the
// edge joins the group under the prefix with its name (default its queue
// id) and takes the targets rendezvous hashing gives it among the live
// members, re-sharing at every change of the set.
//
// Until it has joined, the edge scrapes nothing (the live members cover
// every target between them). Once joined, it keeps its own share while
// it cannot reach etcd, even past its lease (package member fences it out
// then): should the others have taken its targets meanwhile, those are
// scraped twice until etcd answers again, rather than by no one when etcd
// itself is down for every edge.
func (e *Edge) newEtcdShard(et *config.ShardEtcd, members prometheus.Gauge) (*scrapeShard, error) {
	name := et.Name
	if name == "" {
		name = fmt.Sprintf("%016x", e.queue.ID())
	}
	shares := scrapeshard.NewMembers(name)
	rebalances := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_shard_rebalances_total",
		Help: "Changes of the live set of edges sharing this edge's scrape_configs (etcd), each followed by a re-share of the targets.",
	})
	e.reg.MustRegister(rebalances)
	self := member.Member{ID: name, Addr: e.cfg.HTTPListen}
	s := &scrapeShard{shard: shares,
		desc: fmt.Sprintf("etcd: member %q under %s at %v (lease %s)", name, et.Prefix, et.Endpoints, et.TTL)}
	s.run = func(ctx context.Context, reshard func()) error {
		onChange := func(live []member.Member) {
			if !slices.ContainsFunc(live, func(m member.Member) bool { return m.ID == name }) {
				live = append(slices.Clone(live), self) // fenced: keep this edge's share
			}
			if shares.Set(live) {
				members.Set(float64(len(live)))
				rebalances.Inc()
				e.log.Info("scrape shard members changed; re-sharing targets", "members", len(live))
				reshard()
			}
		}
		set, err := e.joinShard(ctx, et, self, onChange)
		if set == nil {
			return err
		}
		<-ctx.Done()
		start := time.Now()
		set.Close() // revokes the lease: the others take this edge's targets at once
		e.log.Info("left the scrape shard", "took", time.Since(start))
		return nil
	}
	return s, nil
}

// joinShard joins the etcd group, retrying with backoff while etcd does
// not answer; nil when ctx ended first.
func (e *Edge) joinShard(ctx context.Context, et *config.ShardEtcd, self member.Member, onChange func([]member.Member)) (*member.Set, error) {
	backoff := time.Second
	for {
		jctx, cancel := context.WithTimeout(ctx, 2*et.DialTimeout)
		set, err := member.Join(jctx, member.Config{Self: self, OnChange: onChange, Logger: e.log,
			Etcd: &member.EtcdConfig{Endpoints: slices.Clone(et.Endpoints), Prefix: et.Prefix, TTL: et.TTL}})
		cancel()
		if err == nil {
			onChange(set.Live())
			return set, nil
		}
		e.log.Warn("cannot join the scrape shard in etcd; scraping nothing until joined", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
