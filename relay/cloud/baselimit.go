package cloud

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// The delta bases of a tenant are bounded: cloud.limits.max_base_series
// caps the series all of its sites' decoders hold in memory. A block
// that leaves its site's base past the cap is written as usual (its
// scrapes were rebuilt exactly), then that site's base is dropped from
// memory and disk, counted and logged, and the edge is asked for full
// frames (Ack.Resync): its next incremental frames find no
// base and are counted as such (edgerelay_cloud_delta_frames_total
// {outcome="no_base"}), as after any lost base. Memory never grows past
// the cap by more than one block's scrapes.

// account records in b.series what sb holds now. The caller holds sb.mu.
func (sb *siteBase) account() {
	n := 0
	if sb.dec != nil {
		n = sb.dec.Series()
	}
	if sb.b == nil || n == sb.series {
		return
	}
	sb.b.smu.Lock()
	sb.b.series[sb.tenant] += n - sb.series
	if sb.b.series[sb.tenant] == 0 {
		delete(sb.b.series, sb.tenant)
	}
	sb.b.smu.Unlock()
	sb.series = n
}

// tenantSeries returns the series tenant's bases hold, as last accounted.
func (b *bases) tenantSeries(tenant string) int {
	b.smu.Lock()
	defer b.smu.Unlock()
	return b.series[tenant]
}

// over reports whether the tenant's bases, with sb as it is now (a
// block's frames applied), hold more than max series. The caller holds
// sb.mu.
func (b *bases) over(sb *siteBase, max int) bool {
	if max <= 0 || sb.dec == nil {
		return false
	}
	return b.tenantSeries(sb.tenant)-sb.series+sb.dec.Series() > max
}

// drop removes sb's base from memory and disk, then unlocks: the next
// frames of its targets start from nothing.
func (sb *siteBase) drop() error {
	defer sb.mu.Unlock()
	sb.forget()
	// The logs hold block marks: the watermarks go to their own file first.
	if err := sb.b.saveMarks(sb.tenant, sb.site); err != nil {
		return fmt.Errorf("delta bases: drop %s: %w", sb.path, err)
	}
	var errs []error
	for _, ext := range []string{".log", ".state"} {
		if err := os.Remove(sb.path + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := fsutil.SyncDir(filepath.Dir(sb.path)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delta bases: drop %s: %w", sb.path, err)
	}
	return nil
}
