package host

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/aggregate"
	"github.com/edgerelay/edgerelay/plugins/builtin"
	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/plugins/rules"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// maxDerived bounds the emitted series waiting for TakeDerived.
const maxDerived = 100000

// nativeStages are the built-in stages written in Go, by builtin name.
var nativeStages = map[string]native.Factory{
	"aggregate": aggregate.New,
	"rules":     rules.New,
}

// newNativeStage completes s as a built-in Go stream stage: trusted, no
// wazero runtime, restarted by calling f again.
func newNativeStage(s *stage, pc config.PluginConfig, f native.Factory, m *metrics) (*stage, error) {
	var err error
	s.trusted, s.kind, s.factory = true, abi.KindStream, f
	if s.config, err = configJSON(&pc.Config); err != nil {
		return nil, inField("config", err)
	}
	if s.native, err = f(s.config); err != nil {
		return nil, inField("config", err)
	}
	s.m = m.forStage(s.name)
	return s, nil
}

// moveDerived takes the series stream stages emitted out of scrape batch
// b into c.derived: they belong to no one target, so they do not ship as
// part of its scrape but as a batch of their own (TakeDerived).
func (c *Chain) moveDerived(b *relay.Batch, sc *scratch) {
	k := 0
	for i := range b.Series {
		if !sc.res[i].derived {
			b.Series[k] = b.Series[i]
			sc.res[k] = sc.res[i]
			k++
			continue
		}
		if c.derived == nil {
			c.derived = &relay.Batch{Timestamp: b.Timestamp}
		}
		d := c.derived
		if len(d.Series) >= maxDerived {
			c.m.derivedDropped.Inc()
			continue
		}
		d.Series = append(d.Series, b.Series[i])
		name := b.Series[i].Labels.Get(labels.MetricName)
		if md, ok := b.Metadata[name]; ok {
			if d.Metadata == nil {
				d.Metadata = make(map[string]relay.Metadata)
			}
			d.Metadata[name] = md
		}
	}
	clear(b.Series[k:])
	b.Series, sc.res = b.Series[:k], sc.res[:k]
}

// TakeDerived returns the series stream stages emitted while processing
// scrapes since the last call (nil when none), as one batch that is not a
// scrape: the edge ships it as it ships a remote_write request. Emitted
// series of a batch that is not a scrape stay in that batch.
func (c *Chain) TakeDerived() *relay.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.derived
	c.derived = nil
	return d
}

// builtinNames lists the built-in modules and Go stages.
func builtinNames() []string {
	names := builtin.Names()
	for n := range nativeStages {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
