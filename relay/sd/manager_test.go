package sd

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// pushConfig builds providers that send whatever the test pushes; starts
// counts them.
type pushConfig struct {
	id     string
	starts *atomic.Int32
	ch     chan []*targetgroup.Group
}

func (*pushConfig) Name() string { return "push" }

func (c *pushConfig) NewProvider(ProviderOptions) (Provider, error) { c.starts.Add(1); return c, nil }

func (c *pushConfig) Run(ctx context.Context, up chan<- []*targetgroup.Group) {
	for {
		select {
		case <-ctx.Done():
			return
		case tgs := <-c.ch:
			select {
			case up <- tgs:
			case <-ctx.Done():
				return
			}
		}
	}
}

func group(src string, addrs ...string) *targetgroup.Group {
	g := &targetgroup.Group{Source: src}
	for _, a := range addrs {
		g.Targets = append(g.Targets, model.LabelSet{model.AddressLabel: model.LabelValue(a)})
	}
	return g
}

func TestManagerKeepsLatestGroupsPerProvider(t *testing.T) {
	var starts atomic.Int32
	push := &pushConfig{id: "p", starts: &starts, ch: make(chan []*targetgroup.Group)}
	static := StaticConfig{group("", "s1:1"), group("", "s2:1")}
	cfgs := map[string][]Config{"a": {static, push}, "empty": nil}
	mgr, wait := runManager(t, nil, cfgs)
	is := func(job string, want ...string) func(map[string][]*targetgroup.Group) bool {
		return func(u map[string][]*targetgroup.Group) bool {
			_, has := u["empty"]
			return has && len(u["empty"]) == 0 && reflect.DeepEqual(addrs(u[job]), want)
		}
	}
	wait(is("a", "0=s1:1", "1=s2:1"))
	push.ch <- []*targetgroup.Group{group("x", "p1:1"), group("y", "p2:1")}
	wait(is("a", "0=s1:1", "1=s2:1", "x=p1:1", "y=p2:1"))
	push.ch <- []*targetgroup.Group{group("x"), nil}
	wait(is("a", "0=s1:1", "1=s2:1", "y=p2:1"))

	// The same configs again: the provider keeps running, with its groups.
	mgr.ApplyConfig(map[string][]Config{"a": {StaticConfig{group("", "s1:1"), group("", "s2:1")}, push}, "empty": nil})
	wait(is("a", "0=s1:1", "1=s2:1", "y=p2:1"))
	if n := starts.Load(); n != 1 {
		t.Errorf("provider started %d times, want 1", n)
	}
	// The push config gone: its targets go.
	mgr.ApplyConfig(map[string][]Config{"a": {StaticConfig{group("", "s3:1")}}, "empty": nil})
	wait(is("a", "0=s3:1"))
	// A job gone: it is no longer sent.
	mgr.ApplyConfig(map[string][]Config{"empty": nil})
	wait(func(u map[string][]*targetgroup.Group) bool { _, has := u["a"]; return !has && len(u) == 1 })
}

// failingConfig cannot build its provider.
type failingConfig struct{}

func (failingConfig) Name() string { return "failing" }

func (failingConfig) NewProvider(ProviderOptions) (Provider, error) {
	return nil, errors.New("no provider")
}

// TestManagerCountsFailedConfigs: a config whose provider cannot be built
// counts in prometheus_sd_failed_configs, and its job is still sent, with
// no targets.
func TestManagerCountsFailedConfigs(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	_, wait := runManager(t, m, map[string][]Config{"bad": {failingConfig{}}, "good": {StaticConfig{group("", "g:1")}}})
	wait(func(u map[string][]*targetgroup.Group) bool {
		b, ok := u["bad"]
		return ok && len(b) == 0 && len(u["good"]) == 1
	})
	if f := testutil.ToFloat64(m.failedConfigs); f != 1 {
		t.Errorf("prometheus_sd_failed_configs = %v, want 1", f)
	}
	if f := testutil.ToFloat64(m.discoveredTargets.WithLabelValues("good")); f != 1 {
		t.Errorf("prometheus_sd_discovered_targets{config=good} = %v, want 1", f)
	}
}
