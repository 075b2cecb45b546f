package files

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// SweepInterval is how often Run applies retention.
const SweepInterval = time.Minute

// Run removes scrape directories older than the retention once at start
// and then every SweepInterval, until ctx is done. It returns nil then.
func (w *Writer) Run(ctx context.Context) error {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		w.Sweep(time.Now())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep removes every scrape directory whose epoch_us is before
// now - retention, leftover temporaries of interrupted writes, and target
// directories left empty; tenant and site directories stay. Target
// directories of the layout before the site level (directly under the
// tenant) are swept the same way. It returns the number of scrape
// directories removed.
func (w *Writer) Sweep(now time.Time) int {
	cutoff := now.Add(-w.retention).UnixMicro()
	tenants, err := os.ReadDir(w.dir)
	if err != nil {
		w.log.Error("retention: read files dir", "dir", w.dir, "err", err)
		return 0
	}
	removed := 0
	for _, t := range tenants {
		if !t.IsDir() {
			continue
		}
		sites, err := os.ReadDir(filepath.Join(w.dir, t.Name()))
		if err != nil {
			w.log.Error("retention: read tenant dir", "tenant", t.Name(), "err", err)
			continue
		}
		for _, s := range sites {
			if s.IsDir() && !strings.HasPrefix(s.Name(), ".") {
				removed += w.sweepSite(filepath.Join(t.Name(), s.Name()), cutoff)
			}
		}
	}
	if removed > 0 {
		w.log.Info("retention removed scrape directories", "count", removed, "older_than", w.retention)
	}
	return removed
}

// sweepSite applies retention to the target directories of one site
// directory rel (<tenant>/<site>). A directory there holding scrape
// directories or a "latest" link is a target directory of the layout
// before the site level, and is swept as a target: a target directory's
// name holds a '.' (or, cut short by Sanitize, a '~'), so it never parses
// as an epoch_us and is never "latest".
func (w *Writer) sweepSite(rel string, cutoff int64) int {
	ents, err := os.ReadDir(filepath.Join(w.dir, rel))
	if err != nil {
		w.log.Error("retention: read site dir", "dir", rel, "err", err)
		return 0
	}
	for _, e := range ents {
		if _, err := strconv.ParseInt(e.Name(), 10, 64); e.Name() == latestName || (err == nil && e.IsDir()) {
			return w.sweepTarget(rel, cutoff) // the layout before the site level
		}
	}
	removed := 0
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			removed += w.sweepTarget(filepath.Join(rel, e.Name()), cutoff)
		}
	}
	return removed
}

// sweepTarget applies retention to one target directory under its lock.
func (w *Writer) sweepTarget(rel string, cutoff int64) int {
	mu := w.lock(rel)
	mu.Lock()
	defer mu.Unlock()
	dir := filepath.Join(w.dir, rel)
	ents, err := os.ReadDir(dir)
	if err != nil {
		w.log.Error("retention: read target dir", "dir", dir, "err", err)
		return 0
	}
	removed, kept := 0, 0
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, tmpPrefix) {
			if _, ok := w.staging.Load(p); ok {
				kept++ // being written: its barrier runs without the lock
				continue
			}
			// A leftover of an interrupted write.
			os.RemoveAll(p)
			continue
		}
		epoch, err := strconv.ParseInt(name, 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		if epoch >= cutoff {
			kept++
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			w.log.Error("retention: remove scrape dir", "dir", p, "err", err)
			kept++
			continue
		}
		removed++
		w.m.removed.Inc()
	}
	if kept == 0 {
		w.targets.Delete(rel) // written again, it is made again
		os.Remove(filepath.Join(dir, latestName))
		if err := os.Remove(dir); err == nil {
			fsutil.SyncDir(filepath.Dir(dir))
		}
	} else if removed > 0 {
		fsutil.SyncDir(dir)
	}
	return removed
}
