package sd

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// sender sends the target sets once an update came, as Prometheus' manager
// does, batching what else changes meanwhile: 100ms after the first update
// of a quiet spell (updateEvery without a send), then at intervals growing
// by half each time up to updateEvery. While nothing changes it sleeps: no
// timer runs between updates. A receiver not ready is tried again after
// the next interval.
func (m *Manager) sender(ctx context.Context) {
	const first = 100 * time.Millisecond
	wait := min(first, m.updateEvery)
	var lastSent time.Time
	timer := time.NewTimer(wait)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.trigger:
		}
		if time.Since(lastSent) > m.updateEvery {
			wait = min(first, m.updateEvery)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		// An update that came meanwhile goes with this send.
		select {
		case <-m.trigger:
		default:
		}
		m.m.sentUpdates.Inc()
		select {
		case m.syncCh <- m.allGroups():
			lastSent = time.Now()
		default:
			m.m.delayedUpdates.Inc()
			m.log.Debug("Discovery receiver's channel was full so will retry the next cycle")
			m.triggerSend()
		}
		wait = min(wait+wait/2, m.updateEvery)
	}
}

// allGroups returns every job's groups; a job whose providers found
// nothing has an empty list.
func (m *Manager) allGroups() map[string][]*targetgroup.Group {
	sets := map[string][]*targetgroup.Group{}
	n := map[string]int{}
	m.mu.Lock()
	m.tmu.Lock()
	for _, p := range m.providers {
		if _, ok := sets[p.job]; !ok {
			sets[p.job] = []*targetgroup.Group{}
		}
		for _, tg := range m.targets[p] {
			sets[p.job] = append(sets[p.job], tg)
			n[p.job] += len(tg.Targets)
		}
	}
	m.tmu.Unlock()
	m.mu.Unlock()
	for job := range sets {
		m.m.discoveredTargets.WithLabelValues(job).Set(float64(n[job]))
		m.m.lastUpdated.WithLabelValues(job).SetToCurrentTime()
	}
	return sets
}
