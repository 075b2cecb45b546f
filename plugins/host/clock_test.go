package host

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/config"
)

// TestClock runs clock.wasm, which keeps series only when its WASI clock
// reads after 2024: the fake clock (the default) reads 2022, clock: real
// reads now.
func TestClock(t *testing.T) {
	for _, tc := range []struct {
		clock string
		kept  int
	}{{"", 0}, {"fake", 0}, {"real", 1}} {
		t.Run("clock="+tc.clock, func(t *testing.T) {
			pc := stageConf(t, "clock", "testdata/clock.wasm", "")
			pc.Clock = tc.clock
			c := newTestChain(t, nil, pc)
			b := batchOf(labels.FromStrings("__name__", "up"))
			if err := c.Process(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if len(b.Series) != tc.kept {
				t.Fatalf("%d series kept; want %d", len(b.Series), tc.kept)
			}
		})
	}
	_, err := NewChain(context.Background(), []config.PluginConfig{{Module: "testdata/clock.wasm", Clock: "wall"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), `clock must be fake or real; got "wall"`) {
		t.Fatalf("NewChain with clock: wall: err %v", err)
	}
}
