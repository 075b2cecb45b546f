package cloud

import (
	"fmt"
	"log/slog"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/cloud/limits"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/status"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// newLimits builds the per-tenant limits (package limits), the counter of
// dropped delta bases (baselimit.go) and the bound on queue ids kept per
// site (dedup.go).
func (r *receiver) newLimits() {
	r.limits = limits.New(limits.Config{
		Of: func(t string) config.Limits { return r.live.Load().TenantLimits(t) }, Tenants: tenantNames(r.cfg), SeriesIdle: r.cfg.Federate.MaxAge,
		Logger: r.log, Registerer: r.reg,
	})
	r.baseDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_delta_bases_dropped_total",
		Help: "Sites' delta bases dropped from memory and disk because the tenant's bases held more than its limits.max_base_series; the edge is asked for full frames.",
	}, []string{"tenant"})
	queuesEvicted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgerelay_cloud_dedup_queues_evicted_total",
		Help: "Edge queue ids whose deduplication watermark the cloud forgot because a site of the tenant used more than its limits.max_queues_per_site; a block resent from such a queue would be applied again.",
	}, []string{"tenant"})
	r.marks.maxQueues = func(t string) int { return r.limits.Limits(t).MaxQueuesPerSite }
	r.marks.evicted = func(tenant, site string, queueID uint64) {
		queuesEvicted.WithLabelValues(tenant).Inc()
		r.log.Warn("deduplication watermark of an edge queue forgotten: the site used more queue ids than limits.max_queues_per_site; a block resent from that queue would be applied again",
			slog.String("tenant", tenant), slog.String("site", site), slog.Uint64("queue_id", queueID),
			slog.Int("max_queues_per_site", r.limits.Limits(tenant).MaxQueuesPerSite))
	}
	r.reg.MustRegister(r.baseDropped, queuesEvicted, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "edgerelay_cloud_delta_base_series",
		Help: "Series held in memory by the delta bases of all tenants.",
	}, func() float64 {
		r.bases.smu.Lock()
		defer r.bases.smu.Unlock()
		n := 0
		for _, v := range r.bases.series {
			n += v
		}
		return float64(n)
	}))
}

// finishBase makes what a block applied to sb durable (done), or, when the
// tenant's bases hold more than its max_base_series, drops sb's base and
// returns resync true: the edge is asked for full frames. Either way sb is
// unlocked.
func (r *receiver) finishBase(p transport.Peer, sb *siteBase, applied [][]byte, m *blockMark) (resync bool, err error) {
	max := r.limits.Limits(p.Tenant).MaxBaseSeries
	if !r.bases.over(sb, max) {
		return false, sb.done(applied, m)
	}
	held := sb.dec.Series()
	if n := len(applied); n > 0 {
		if h, err := delta.ParseHeader(applied[n-1]); err == nil {
			sb.limitGen = h.Generation
		}
	}
	if err := sb.drop(); err != nil {
		return false, err
	}
	r.baseDropped.WithLabelValues(p.Tenant).Inc()
	r.log.Warn("delta bases of a site dropped: the tenant's bases hold more series than limits.max_base_series; the edge is asked for full frames",
		slog.String("tenant", p.Tenant), slog.String("site", p.Site), slog.Int("site_series", held),
		slog.Int("tenant_series", r.bases.tenantSeries(p.Tenant)), slog.Int("max_base_series", max))
	return true, nil
}

// limitsSection shows each tenant's limits and use on the status page (the
// first 50 tenants; /metrics has them all).
func (c *Cloud) limitsSection() status.Section {
	sec := status.Section{Title: "Limits per tenant (cloud.limits, cloud.tenants[].limits)"}
	ts := c.limits.Tenants()
	sort.Strings(ts)
	if len(ts) == 0 {
		l := c.live.Load().Limits
		sec.Rows = append(sec.Rows, status.R("every tenant", describeLimits(l, -1, -1)))
	}
	for i, t := range ts {
		if i == 50 {
			sec.Rows = append(sec.Rows, status.R("…", fmt.Sprintf("%d more tenants: see /metrics", len(ts)-50)))
			break
		}
		sec.Rows = append(sec.Rows, status.R(t, describeLimits(c.limits.Limits(t), c.limits.ActiveSeries(t), c.bases.tenantSeries(t))))
	}
	return sec
}

func describeLimits(l config.Limits, active, base int) string {
	use := func(n int) string {
		if n < 0 {
			return ""
		}
		return fmt.Sprintf("%d of ", n)
	}
	return fmt.Sprintf("series %s%d; delta base series %s%d; %d samples/s; %d bytes/s; labels per series %d, name %d B, value %d B; metadata %d B, %d families per site; %d connections; %d queue ids per site",
		use(active), l.MaxSeries, use(base), l.MaxBaseSeries, l.MaxSamplesPerSecond, int64(l.MaxBytesPerSecond),
		l.MaxLabelsPerSeries, l.MaxLabelNameLength, l.MaxLabelValueLength, l.MaxMetadataLength, l.MaxMetadataFamilies,
		l.MaxConnections, l.MaxQueuesPerSite)
}

// tenantNames are the names of cfg's tenants.
func tenantNames(cfg *config.Cloud) []string {
	names := make([]string, len(cfg.Tenants))
	for i, t := range cfg.Tenants {
		names[i] = t.Name
	}
	return names
}
