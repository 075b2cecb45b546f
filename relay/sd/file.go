package sd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// fileSDLabel is the meta label of a file-discovered target's file.
const fileSDLabel = model.MetaLabelPrefix + "filepath"

// NewProvider implements Config: a provider that reads every file the
// patterns match at once, whenever their directories change, and every
// refresh_interval, as Prometheus' file_sd does.
func (c *FileConfig) NewProvider(opts ProviderOptions) (Provider, error) {
	return &fileDiscovery{patterns: c.Files, interval: time.Duration(c.RefreshInterval), log: opts.logger(), m: opts.Metrics.or()}, nil
}

type fileDiscovery struct {
	patterns []string
	interval time.Duration
	log      *slog.Logger
	m        *Metrics
	watcher  *fsnotify.Watcher
	last     map[string]int // groups each file gave when last read well
}

// Run implements Provider.
func (d *fileDiscovery) Run(ctx context.Context, up chan<- []*targetgroup.Group) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Error("Error adding file watcher", "err", err)
		d.m.fileWatcherErrors.Inc()
		return
	}
	d.watcher = w
	defer d.stop()
	d.refresh(ctx, up)
	ticker := time.NewTicker(d.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.Events:
			// A write may be in progress: the file is read anyway, and read
			// again on its next event or at the next tick.
			if ev.Name == "" || ev.Op == fsnotify.Chmod {
				continue
			}
			d.refresh(ctx, up)
		case <-ticker.C:
			// A watch that failed after a change is set again here.
			d.refresh(ctx, up)
		case err := <-w.Errors:
			if err != nil {
				d.log.Error("Error watching file", "err", err)
			}
		}
	}
}

func (d *fileDiscovery) stop() {
	done := make(chan struct{})
	defer close(done)
	go func() { // drain, so that Close does not block on a full channel
		for {
			select {
			case <-d.watcher.Errors:
			case <-d.watcher.Events:
			case <-done:
				return
			}
		}
	}()
	if err := d.watcher.Close(); err != nil {
		d.log.Error("Error closing file watcher", "paths", fmt.Sprint(d.patterns), "err", err)
	}
	for f := range d.last {
		d.m.fileMtime.DeleteLabelValues(f)
	}
}

// refresh reads every matching file and sends its groups. A file that
// cannot be read or decoded is logged and counted
// (prometheus_sd_file_read_errors_total) and keeps the groups it last
// gave; a file gone, or giving fewer groups than before, has the missing
// ones sent empty, so their targets go.
func (d *fileDiscovery) refresh(ctx context.Context, up chan<- []*targetgroup.Group) {
	start := time.Now()
	defer func() { d.m.fileScanDuration.Observe(time.Since(start).Seconds()) }()
	now := map[string]int{}
	for _, f := range d.listFiles() {
		tgs, err := d.readFile(f)
		if err != nil {
			d.m.fileReadErrors.Inc()
			d.log.Error("Error reading file", "path", f, "err", err)
			now[f] = d.last[f]
			continue
		}
		select {
		case up <- tgs:
		case <-ctx.Done():
			return
		}
		now[f] = len(tgs)
	}
	for f, n := range d.last {
		m, ok := now[f]
		if ok && m >= n {
			continue
		}
		d.log.Debug("file_sd refresh found file that should be removed", "file", f)
		if !ok {
			d.m.fileMtime.DeleteLabelValues(f)
		}
		for i := m; i < n; i++ {
			select {
			case up <- []*targetgroup.Group{{Source: fileSource(f, i)}}:
			case <-ctx.Done():
				return
			}
		}
	}
	d.last = now
	d.watchDirs()
}

func (d *fileDiscovery) listFiles() []string {
	var files []string
	for _, p := range d.patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			d.log.Error("Error expanding glob", "glob", p, "err", err)
			continue
		}
		files = append(files, m...)
	}
	return files
}

// watchDirs watches the directory of every pattern (the files may not
// exist yet).
func (d *fileDiscovery) watchDirs() {
	for _, p := range d.patterns {
		dir, _ := filepath.Split(p)
		if dir == "" {
			dir = "./"
		}
		if err := d.watcher.Add(dir); err != nil {
			d.log.Error("Error adding file watch", "path", dir, "err", err)
		}
	}
}

func (d *fileDiscovery) readFile(name string) ([]*targetgroup.Group, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	tgs, err := DecodeFileGroups(b, name)
	if err != nil {
		return nil, err
	}
	d.m.fileMtime.WithLabelValues(name).Set(float64(info.ModTime().Unix()))
	return tgs, nil
}

// DecodeFileGroups decodes the file_sd file name holding b: a JSON (.json)
// or strict YAML (.yml, .yaml) list of target groups, each given Source
// name:index and the __meta_filepath label.
func DecodeFileGroups(b []byte, name string) ([]*targetgroup.Group, error) {
	var tgs []*targetgroup.Group
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".json":
		if err := json.Unmarshal(b, &tgs); err != nil {
			return nil, err
		}
	case ".yml", ".yaml":
		if err := yaml.UnmarshalStrict(b, &tgs); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unhandled file extension %q", ext)
	}
	return stamp(tgs, name, fileSDLabel)
}

func fileSource(name string, i int) string { return sourceOf(name, i) }

// stamp names each of tgs, decoded from the file or URL from, by its
// Source (from:index) and sets its meta label to from, as Prometheus'
// file and HTTP discoveries do; a null group fails the whole answer.
func stamp(tgs []*targetgroup.Group, from string, meta model.LabelName) ([]*targetgroup.Group, error) {
	for i, tg := range tgs {
		if tg == nil {
			return nil, errors.New("nil target group item found")
		}
		tg.Source = sourceOf(from, i)
		if tg.Labels == nil {
			tg.Labels = model.LabelSet{}
		}
		tg.Labels[meta] = model.LabelValue(from)
	}
	return tgs, nil
}

// sourceOf is the Source of the i-th group read from from.
func sourceOf(from string, i int) string { return from + ":" + strconv.Itoa(i) }
