package files

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
)

// TestRunRetention runs the retention loop on a fake clock: directories
// past the 24h default go at the first sweep, others once they age past
// it, and a target whose scrapes are all gone disappears with its link.
func TestRunRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		w, reg := newWriter(t, root)
		now := time.Now()
		ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
		write := func(tenant string, ts int64) string {
			b := scrapeBatch(ts, 1)
			if err := w.Write(tenant, "plant-7", b); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(root, tenant, "plant-7", "10.0.0.1_9100.node", strconv.FormatInt(ts*1000, 10))
		}
		old := write("acme", ms(25*time.Hour))
		aging := write("acme", ms(23*time.Hour+30*time.Minute))
		fresh := write("acme", ms(time.Minute))
		gone := write("other", ms(48*time.Hour))
		// A temporary left by an interrupted write.
		leftover := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node", tmpPrefix+"123")
		if err := os.Mkdir(leftover, 0o755); err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		synctest.Wait()
		exists(t, old, false)
		exists(t, gone, false)
		exists(t, filepath.Dir(gone), false)
		exists(t, leftover, false)
		exists(t, aging, true)
		exists(t, fresh, true)

		time.Sleep(31 * time.Minute) // the aging one passes 24h; sweeps run every minute
		synctest.Wait()
		exists(t, aging, false)
		exists(t, fresh, true)
		if link, _ := os.Readlink(filepath.Join(filepath.Dir(fresh), latestName)); link != filepath.Base(fresh) {
			t.Fatalf("latest -> %q, want %q", link, filepath.Base(fresh))
		}
		if n := metrictest.Value(t, reg, "edgerelay_files_removed_total"); n != 3 {
			t.Fatalf("removed_total = %v, want 3", n)
		}
	})
}

func exists(t *testing.T, p string, want bool) {
	t.Helper()
	_, err := os.Lstat(p)
	if got := err == nil; got != want {
		t.Fatalf("%s exists = %v, want %v (%v)", p, got, want, err)
	}
}
