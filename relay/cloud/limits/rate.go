package limits

import (
	"context"
	"time"
)

// bucket is a token bucket that may go into debt: take returns how long
// the taker must wait for the tokens it took, so a tenant's sustained rate
// stays at its limit however its blocks are sized. Its fields are guarded
// by the tenant's lock.
type bucket struct {
	tokens float64
	last   int64 // Unix ns of the last refill
}

// take takes n tokens at now from a bucket filling at rate per second and
// holding at most one second's worth, and returns the wait.
func (b *bucket) take(n, rate float64, now int64) time.Duration {
	if rate <= 0 {
		return 0
	}
	if b.last == 0 {
		b.tokens = rate
	} else {
		b.tokens = min(rate, b.tokens+rate*float64(now-b.last)/1e9)
	}
	b.last = now
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / rate * 1e9)
}

// Throttle waits while tenant is over its samples or bytes per second,
// counting the wait, and returns ctx's error if ctx ends first. The cloud
// calls it before acknowledging a block: the edge's connection reads
// nothing more meanwhile, so its queue, not the cloud, holds the rest.
func (l *Limiter) Throttle(ctx context.Context, tenantName string, samples, bytes int) error {
	lim := l.of(tenantName)
	tn := l.tenant(tenantName)
	now := l.now().UnixNano()
	tn.mu.Lock()
	ws := tn.samples.take(float64(samples), float64(lim.MaxSamplesPerSecond), now)
	wb := tn.bytes.take(float64(bytes), float64(lim.MaxBytesPerSecond), now)
	tn.mu.Unlock()
	wait, which := ws, "max_samples_per_second"
	if wb > ws {
		wait, which = wb, "max_bytes_per_second"
	}
	if wait <= 0 {
		return nil
	}
	l.throttled.WithLabelValues(tenantName, which).Add(wait.Seconds())
	return l.sleep(ctx, wait)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
