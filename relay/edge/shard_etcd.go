package edge

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
)

// newEtcdShard is the share of an etcd membership.
func (e *Edge) newEtcdShard(_ *config.ShardEtcd, _ prometheus.Gauge) (*scrapeShard, error) {
	return nil, errors.New("edge.scrape_shard.etcd is not supported by this build")
}
