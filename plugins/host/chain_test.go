package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

func TestBuiltinChain(t *testing.T) {
	skipGoModulesUnderRace(t)
	reg := prometheus.NewRegistry()
	c := newTestChain(t, reg,
		stageConf(t, "relabel", "builtin:relabel", `
relabel_configs:
  - source_labels: [__name__]
    regex: node_cpu_.*
    target_label: kind
    replacement: cpu
  - regex: secret
    action: labeldrop
`),
		stageConf(t, "anon", "builtin:anonymize", `{labels: [host], key: k1, length: 8}`),
		stageConf(t, "filter", "builtin:filter", `{drop: ['{__name__=~"go_.*"}']}`),
	)
	in := []labels.Labels{
		labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "0", "secret", "x", "host", "alpha"),
		labels.FromStrings("__name__", "go_goroutines", "host", "alpha"),
		labels.FromStrings("__name__", "up", "host", "beta"),
	}
	want := []string{
		// HMAC-SHA256(key "k1", "alpha") base64url, cut to 8: checked with Python's hmac.
		`{__name__="node_cpu_seconds_total", cpu="0", host="Hi-ysZOg", kind="cpu"}`,
		`{__name__="up", host="uKBj-ixj"}`,
	}
	for round := range 3 { // the first round calls the guests, later rounds hit the memo
		b := batchOf(in...)
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		got := seriesStrings(b)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d:\n got %q\nwant %q", round, got, want)
		}
	}
	if h, m := testutil.ToFloat64(c.m.hits), testutil.ToFloat64(c.m.misses); h != 6 || m != 3 {
		t.Errorf("cache hits, misses = %v, %v; want 6, 3", h, m)
	}
	if got := testutil.ToFloat64(c.m.calls.WithLabelValues("filter")); got != 1 {
		t.Errorf("filter calls = %v; want 1 (memoised after the first batch)", got)
	}
	if in, out := testutil.ToFloat64(c.m.seriesIn.WithLabelValues("filter")), testutil.ToFloat64(c.m.seriesOut.WithLabelValues("filter")); in != 9 || out != 6 {
		t.Errorf("filter series in/out = %v/%v; want 9/6", in, out)
	}
}

func TestClosedChain(t *testing.T) {
	c := newTestChain(t, nil, stageConf(t, "p", "testdata/passthrough.wasm", ""))
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Process(context.Background(), batchOf(labels.FromStrings("a", "b"))); !errors.Is(err, relay.ErrClosed) {
		t.Fatalf("Process after Close = %v; want ErrClosed", err)
	}
}

// TestConcurrentProcess checks the chain serialises callers (run with -race).
func TestConcurrentProcess(t *testing.T) {
	c := newTestChain(t, nil, stageConf(t, "p", "testdata/passthrough.wasm", ""), stageConf(t, "c", "../../wasm-examples/dropprefix/dropprefix.wasm", ""))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				b := batchOf(labels.FromStrings("__name__", "up", "g", fmt.Sprint(g), "i", fmt.Sprint(i%10)),
					labels.FromStrings("__name__", "go_x", "g", fmt.Sprint(g)))
				b.Job = fmt.Sprint("job", g%2)
				if err := c.Process(context.Background(), b); err != nil || len(b.Series) != 1 {
					t.Errorf("Process: %v, %d series", err, len(b.Series))
					return
				}
			}
		}()
	}
	wg.Wait()
}
