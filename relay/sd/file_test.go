package sd

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// runManager runs a Manager over cfgs and returns a function that waits
// until the latest update satisfies ok (or a minute passes: the test
// fails) and returns it.
func runManager(t *testing.T, m *Metrics, cfgs map[string][]Config) (*Manager, func(ok func(map[string][]*targetgroup.Group) bool) map[string][]*targetgroup.Group) {
	t.Helper()
	mgr := NewManager(nil, m, 10*time.Millisecond)
	mgr.ApplyConfig(cfgs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); mgr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	var last map[string][]*targetgroup.Group
	return mgr, func(ok func(map[string][]*targetgroup.Group) bool) map[string][]*targetgroup.Group {
		t.Helper()
		if last != nil && ok(last) {
			return last
		}
		deadline := time.After(time.Minute)
		for {
			select {
			case last = <-mgr.SyncCh():
				if ok(last) {
					return last
				}
			case <-deadline:
				t.Fatalf("no such update in a minute; last: %v", last)
			}
		}
	}
}

// addrs lists a job's targets as source=address, sorted.
func addrs(groups []*targetgroup.Group) []string {
	var out []string
	for _, g := range groups {
		for _, tl := range g.Targets {
			out = append(out, g.Source+"="+string(tl[model.AddressLabel]))
		}
	}
	sort.Strings(out)
	return out
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

func TestFileSDFollowsFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yml")
	writeFile(t, a, `[{"targets":["h1:9100","h2:9100"],"labels":{"rack":"r1"}},{"targets":["h3:9100"]}]`)
	writeFile(t, b, "- targets: ['h4:9100']\n")
	var cfg FileConfig
	if err := yaml.UnmarshalStrict([]byte("files: ['"+dir+"/*.json', '"+dir+"/*.yml']\nrefresh_interval: 1h"), &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	_, wait := runManager(t, m, map[string][]Config{"node": {&cfg}})
	is := func(want ...string) func(map[string][]*targetgroup.Group) bool {
		return func(u map[string][]*targetgroup.Group) bool { return reflect.DeepEqual(addrs(u["node"]), want) }
	}
	got := wait(is(a+":0=h1:9100", a+":0=h2:9100", a+":1=h3:9100", b+":0=h4:9100"))
	for _, g := range got["node"] {
		if want := model.LabelValue(g.Source[:len(g.Source)-2]); g.Labels[fileSDLabel] != want {
			t.Errorf("group %s: __meta_filepath %q, want %q", g.Source, g.Labels[fileSDLabel], want)
		}
		if g.Source == a+":0" && g.Labels["rack"] != "r1" {
			t.Errorf("group %s lost its labels: %v", g.Source, g.Labels)
		}
	}

	// A group fewer: its targets go.
	writeFile(t, a, `[{"targets":["h1:9100"]}]`)
	wait(is(a+":0=h1:9100", b+":0=h4:9100"))

	// A bad file keeps what it gave last, and is counted.
	writeFile(t, b, "- targets: ['h5:9100']\n  bogus: 1\n")
	eventually(t, func() bool { return testutil.ToFloat64(m.fileReadErrors) > 0 })
	writeFile(t, a, `[{"targets":["h6:9100"]}]`) // an update after the bad read
	wait(is(a+":0=h6:9100", b+":0=h4:9100"))

	// A file gone: its targets go.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	wait(is(b + ":0=h4:9100"))
}

func TestFileConfigRefusals(t *testing.T) {
	for cfg, want := range map[string]string{
		"files: []":                  "must contain at least one path name",
		"files: ['x.txt']":           `path name "x.txt" is not valid for file discovery`,
		"files: ['a*/b*.json']":      `path name "a*/b*.json" is not valid`,
		"{files: [a.json], port: 1}": "field port not found",
	} {
		var c FileConfig
		if err := yaml.UnmarshalStrict([]byte(cfg), &c); err == nil || !contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", cfg, err, want)
		}
	}
	var c FileConfig
	if err := yaml.UnmarshalStrict([]byte("files: [sd/*.YAML]"), &c); err != nil || time.Duration(c.RefreshInterval) != 5*time.Minute {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c.SetDirectory("/etc/edge")
	if c.Files[0] != "/etc/edge/sd/*.YAML" {
		t.Errorf("SetDirectory: %v", c.Files)
	}
}

// eventually waits until cond holds; the test fails if it does not within
// a minute.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in a minute")
		}
	}
}

// TestFileSDRefreshInterval: files in a directory that did not exist when
// discovery started (so nothing watched it) are found at the next
// refresh_interval, and watched from then on.
func TestFileSDRefreshInterval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	var cfg FileConfig
	if err := yaml.UnmarshalStrict([]byte("files: ['"+dir+"/*.json']\nrefresh_interval: 200ms"), &cfg); err != nil {
		t.Fatal(err)
	}
	_, wait := runManager(t, nil, map[string][]Config{"node": {&cfg}})
	is := func(want ...string) func(map[string][]*targetgroup.Group) bool {
		return func(u map[string][]*targetgroup.Group) bool { return reflect.DeepEqual(addrs(u["node"]), want) }
	}
	wait(is())
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "a.json")
	writeFile(t, f, `[{"targets":["h1:9100"]}]`)
	wait(is(f + ":0=h1:9100"))
	writeFile(t, f, `[{"targets":["h2:9100"]}]`)
	wait(is(f + ":0=h2:9100"))
}
