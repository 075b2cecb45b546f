package files

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/edgerelay/edgerelay/relay"
)

// Writing a block's directories, durably, in three steps shared with
// every block being written at the same time (of any site):
//
//  1. stage: each scrape directory is written under a temporary name,
//     without fsync;
//  2. a barrier makes all of them durable (fsutil.Barrier: one syncfs of
//     the filesystem, whoever's files they are), then each is renamed
//     into place and its target's "latest" link replaced;
//  3. a second barrier makes the renames durable.
//
// A crash before step 2's barrier leaves temporary directories, which
// retention removes; after it, a directory is whole wherever it is.
// Nothing returns before step 3's barrier, so a block is acknowledged
// only once its directories are durable in place.

// writeDirs writes the batches bs of tenant and site and returns the
// directories they went to once those are durable. A group that fails is
// logged and counted, and the others are written all the same.
func (w *Writer) writeDirs(tenant, site string, bs []*relay.Batch) ([]Dir, error) {
	if tenant == "" {
		w.m.errors.Inc()
		return nil, errors.New("files: empty tenant")
	}
	var sts []*staged
	var errs []error
	defer func() {
		for _, st := range sts {
			w.unstage(st)
		}
	}()
	for _, b := range bs {
		had := len(b.Series)
		b = withoutStale(b)
		if b.Scrape && had > 0 && len(b.Series) == 0 {
			continue // only staleness markers: the target served nothing
		}
		for _, g := range split(b) {
			st, err := w.stageGroup(tenant, site, g)
			if err != nil {
				errs = append(errs, w.failed(tenant, site, g, err))
				continue
			}
			sts = append(sts, st)
		}
	}
	if len(sts) == 0 {
		return nil, errors.Join(errs...)
	}
	var paths []string
	for _, st := range sts {
		paths = append(paths, st.paths()...)
	}
	if err := w.barrier.Sync(paths...); err != nil {
		w.m.errors.Add(float64(len(sts)))
		return nil, errors.Join(append(errs, fmt.Errorf("files: %w", err))...)
	}
	dirs, targets := make([]Dir, 0, len(sts)), make([]string, 0, len(sts))
	for _, st := range sts {
		d, err := w.publishGroup(tenant, site, st)
		if err != nil {
			errs = append(errs, w.failed(tenant, site, st.g, err))
			continue
		}
		dirs = append(dirs, d)
		targets = append(targets, st.target)
	}
	if err := w.barrier.Sync(targets...); err != nil {
		w.m.errors.Add(float64(len(dirs)))
		errs = append(errs, fmt.Errorf("files: %w", err))
	}
	return dirs, errors.Join(errs...)
}

// failed counts and logs a group that could not be written.
func (w *Writer) failed(tenant, site string, g group, err error) error {
	w.m.errors.Inc()
	w.log.Error("write scrape files", "tenant", tenant, "site", site, "job", g.job, "instance", g.instance, "err", err)
	return err
}

// stageGroup renders g and writes it as a temporary directory (stage).
func (w *Writer) stageGroup(tenant, site string, g group) (*staged, error) {
	if g.batch.Timestamp < 0 || g.batch.Timestamp > math.MaxInt64/1000-maxBumps {
		return nil, fmt.Errorf("batch timestamp %d out of range", g.batch.Timestamp)
	}
	data, js, native, err := w.render(tenant, g)
	if err != nil {
		return nil, err
	}
	rel := filepath.Join(Sanitize(tenant), siteDir(site), targetDir(g.job, g.instance))
	mu := w.lock(rel)
	mu.Lock()
	defer mu.Unlock()
	st, err := w.stage(rel, g.batch.Timestamp*1000, data, js, native)
	if err != nil {
		return nil, err
	}
	st.g = g
	return st, nil
}

// publishGroup renames st, durable, into place (publish) and returns its
// directory.
func (w *Writer) publishGroup(tenant, site string, st *staged) (Dir, error) {
	mu := w.lock(st.rel)
	mu.Lock()
	epochUs, written, err := w.publish(st)
	mu.Unlock()
	if err != nil {
		return Dir{}, err
	}
	if written {
		w.m.written.Inc()
		w.m.bytes.Add(float64(len(st.data) + len(st.js) + len(st.native)))
	} else {
		w.m.duplicates.Inc()
	}
	name := strconv.FormatInt(epochUs, 10)
	g := st.g
	d := Dir{Path: filepath.Join(st.target, name), Files: []string{name + ".data.gz", name + ".json"},
		Tenant: tenant, Site: site, Job: g.job, Instance: g.instance, TargetLabels: g.batch.TargetLabels,
		Timestamp: g.dts, New: written}
	if len(st.native) > 0 {
		d.Files = append(d.Files, name+nativeSuffix)
	}
	return d, nil
}
