package sd

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// sender sends the target sets when an update came, polling with an
// interval that starts at 100ms and grows by half each time up to
// updateEvery, and starts low again after a quiet spell, as Prometheus'
// manager does. A receiver not ready is tried again next time.
func (m *Manager) sender(ctx context.Context) {
	const first = 100 * time.Millisecond
	wait := min(first, m.updateEvery)
	lastSent := time.Now().Add(-m.updateEvery)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		select {
		case <-m.trigger:
			m.m.sentUpdates.Inc()
			select {
			case m.syncCh <- m.allGroups():
				lastSent = time.Now()
			default:
				m.m.delayedUpdates.Inc()
				m.log.Debug("Discovery receiver's channel was full so will retry the next cycle")
				m.triggerSend()
			}
		default:
		}
		wait = min(wait+wait/2, m.updateEvery)
		if time.Since(lastSent) > m.updateEvery {
			wait = min(first, m.updateEvery)
		}
		timer.Reset(wait)
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
