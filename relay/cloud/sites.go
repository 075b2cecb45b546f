package cloud

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// sites keeps, per tenant and site, when its edge last delivered a block,
// the newest sample it carried and what it sent, for /metrics and the
// status page. Safe for concurrent use.
type sites struct {
	mu sync.Mutex
	m  map[[2]string]*siteStat
}

type siteStat struct {
	lastSeen       time.Time
	newest         int64 // ms
	bytes, samples float64
}

var (
	siteSeenDesc = prometheus.NewDesc("edgerelay_cloud_site_last_seen_timestamp_seconds",
		"When the site's edge last delivered a block the cloud accepted, as a Unix timestamp.", []string{"tenant", "site"}, nil)
	siteNewestDesc = prometheus.NewDesc("edgerelay_cloud_site_newest_sample_timestamp_seconds",
		"The newest sample timestamp in the site's accepted blocks; the time since it is the site's lag.", []string{"tenant", "site"}, nil)
	siteBytesDesc = prometheus.NewDesc("edgerelay_cloud_site_received_bytes_total",
		"Bytes of blocks accepted from the site's edge.", []string{"tenant", "site"}, nil)
	siteSamplesDesc = prometheus.NewDesc("edgerelay_cloud_site_received_samples_total",
		"Samples accepted from the site's edge (what its tenant's limits let through).", []string{"tenant", "site"}, nil)
)

func newSites(reg prometheus.Registerer) *sites {
	s := &sites{m: map[[2]string]*siteStat{}}
	reg.MustRegister(s)
	return s
}

// received records an accepted block of p of size bytes.
func (s *sites) received(p transport.Peer, bytes, samples int, newest int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{p.Tenant, p.Site}
	st := s.m[k]
	if st == nil {
		st = &siteStat{}
		s.m[k] = st
	}
	st.lastSeen = time.Now()
	st.newest = max(st.newest, newest)
	st.bytes += float64(bytes)
	st.samples += float64(samples)
}

// siteRow is one site as the status page lists it.
type siteRow struct {
	tenant, site string
	siteStat
}

// list returns every site, by tenant and site.
func (s *sites) list() []siteRow {
	s.mu.Lock()
	out := make([]siteRow, 0, len(s.m))
	for k, st := range s.m {
		out = append(out, siteRow{k[0], k[1], *st})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b siteRow) int {
		return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.site, b.site))
	})
	return out
}

// Describe implements prometheus.Collector.
func (s *sites) Describe(ch chan<- *prometheus.Desc) {
	ch <- siteSeenDesc
	ch <- siteNewestDesc
	ch <- siteBytesDesc
	ch <- siteSamplesDesc
}

// Collect implements prometheus.Collector.
func (s *sites) Collect(ch chan<- prometheus.Metric) {
	for _, r := range s.list() {
		ch <- prometheus.MustNewConstMetric(siteSeenDesc, prometheus.GaugeValue, float64(r.lastSeen.UnixMilli())/1e3, r.tenant, r.site)
		ch <- prometheus.MustNewConstMetric(siteNewestDesc, prometheus.GaugeValue, float64(r.newest)/1e3, r.tenant, r.site)
		ch <- prometheus.MustNewConstMetric(siteBytesDesc, prometheus.CounterValue, r.bytes, r.tenant, r.site)
		ch <- prometheus.MustNewConstMetric(siteSamplesDesc, prometheus.CounterValue, r.samples, r.tenant, r.site)
	}
}

// newestSample is the newest sample timestamp of blk's batches, in ms: a
// scrape's own timestamp, a remote_write batch's latest sample.
func newestSample(blk *relay.Block) int64 {
	var n int64
	for _, b := range blk.Batches {
		if b.Scrape {
			n = max(n, b.Timestamp)
			continue
		}
		for i := range b.Series {
			for _, s := range b.Series[i].Samples {
				n = max(n, s.T)
			}
			for _, h := range b.Series[i].Histograms {
				n = max(n, h.T)
			}
		}
	}
	return n
}
