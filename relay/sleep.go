package relay

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done; it reports whether the whole wait
// passed. Retry and renewal loops use it between attempts.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
