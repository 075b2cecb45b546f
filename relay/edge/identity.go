package edge

import (
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxIdentities bounds the targets identities remembers; past it the
// memory starts over.
const maxIdentities = 4096

// target is a (job, instance) pair.
type target struct{ job, instance string }

// identities notices when the plugin chain gives two scraped targets the
// same identity (job and instance after the chain, say a chain that
// removes instance): the cloud then writes their scrapes into one
// directory. That is the chain's decision, but never a silent one: each
// shared identity is logged once and counted. Safe for concurrent use.
//
// The log line names the targets as scraped; it stays on the edge, like the
// status page.
type identities struct {
	mu         sync.Mutex
	first      map[target]target // identity → the first target seen with it
	warned     map[target]bool
	collisions prometheus.Counter
}

func newIdentities(reg prometheus.Registerer) *identities {
	ids := &identities{
		first:  make(map[target]target),
		warned: make(map[target]bool),
		collisions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_pipeline_shared_identities_total",
			Help: "Target identities (job and instance after the plugin chain) found shared by two scraped targets, whose scrapes then share one directory at the cloud.",
		}),
	}
	reg.MustRegister(ids.collisions)
	return ids
}

// note records that the scrape of target scraped left the chain as id.
func (ids *identities) note(scraped, id target, log *slog.Logger) {
	ids.mu.Lock()
	first, ok := ids.first[id]
	if !ok {
		if len(ids.first) >= maxIdentities {
			clear(ids.first)
			clear(ids.warned)
		}
		ids.first[id] = scraped
	}
	shared := ok && first != scraped && !ids.warned[id]
	if shared {
		ids.warned[id] = true
	}
	ids.mu.Unlock()
	if !shared {
		return
	}
	ids.collisions.Inc()
	log.Warn("two targets have the same job and instance after the plugin chain: the cloud writes their scrapes into one directory",
		"job", id.job, "instance", id.instance,
		"first_job", first.job, "first_instance", first.instance, "job_scraped", scraped.job, "instance_scraped", scraped.instance)
}
