package host

import (
	"context"
	"os"
	"slices"
	"time"
)

// DefaultModulePoll is how often a chain with Options.OnModuleChange looks
// at its module files when Options.ModulePoll is zero.
const DefaultModulePoll = 2 * time.Second

// moduleFile is a module loaded from a file and what the file looked like
// when it was read.
type moduleFile struct {
	path string
	info os.FileInfo
}

// ModulePaths returns the files the chain's modules were loaded from, in
// stage order (built-in modules have none).
func (c *Chain) ModulePaths() []string {
	var p []string
	for _, f := range c.files {
		p = append(p, f.path)
	}
	return p
}

// fileState is what the watcher compares: a file replaced by a rename, or
// rewritten in place, changes identity, size or modification time.
type fileState struct {
	info os.FileInfo // nil: missing
}

func (a fileState) same(b fileState) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() && a.info.ModTime().Equal(b.info.ModTime())
}

// watchModules polls files every interval until ctx is done and calls
// onChange with the paths that differ from what was loaded. A change is
// reported once it has stayed the same for one interval (a file being
// copied is not reported half written), and once only: if the reload it
// triggers fails, the same contents are not reported again, a further
// change is. A missing file is not a change (it may be mid-replacement);
// its reappearance is.
func watchModules(ctx context.Context, files []moduleFile, interval time.Duration, onChange func(paths []string)) {
	n := len(files)
	loaded, prev, reported := make([]fileState, n), make([]fileState, n), make([]fileState, n)
	for i, f := range files {
		loaded[i] = fileState{f.info}
		prev[i], reported[i] = loaded[i], loaded[i]
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var changed []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed = changed[:0]
		for i, f := range files {
			var cur fileState
			if info, err := os.Stat(f.path); err == nil {
				cur.info = info
			}
			stable := cur.same(prev[i])
			prev[i] = cur
			if cur.info == nil || !stable || cur.same(loaded[i]) || cur.same(reported[i]) {
				continue
			}
			reported[i] = cur
			if !slices.Contains(changed, f.path) {
				changed = append(changed, f.path)
			}
		}
		if len(changed) > 0 {
			onChange(slices.Clone(changed))
		}
	}
}
