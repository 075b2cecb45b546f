package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// TestABISuite is the ABI test suite of the plugin SDKs: one set of cases
// (what the host gives a stage, what must come out: kept, dropped,
// relabelled, memoised, refused) run through the real host against the
// same plugins built with the Go SDK (package sdk) and with the C SDK
// (sdk/c). Both must meet every expectation, so they behave identically.
func TestABISuite(t *testing.T) {
	for _, lang := range []string{"go", "c"} {
		t.Run(lang, func(t *testing.T) {
			if lang == "go" {
				skipGoModulesUnderRace(t)
			}
			m := buildABIModules(t, lang)
			t.Run("series", func(t *testing.T) { abiSeriesCases(t, m) })
			t.Run("samples", func(t *testing.T) { abiSamplesCases(t, m) })
			t.Run("config", func(t *testing.T) { abiConfigCases(t, m) })
			t.Run("many calls", func(t *testing.T) { abiManyCalls(t, m) })
			t.Run("stream", func(t *testing.T) { abiStreamCases(t, m) })
		})
	}
}

// abiStage is a stage of the suite: a generous deadline, since the cases
// assert outcomes, never timing.
func abiStage(t testing.TB, name, module, cfg, onError string) config.PluginConfig {
	pc := stageConf(t, name, module, cfg)
	pc.OnError = onError
	pc.Limits.Timeout = 20 * time.Second
	return pc
}

type abiSeriesCase struct {
	name, config, onError string
	in                    []labels.Labels
	want                  []labels.Labels // what leaves the stage, in order
	held                  bool            // fail_closed: the batch is held
	errKind               string          // each batch counts one failure of this kind
}

func abiSeriesCases(t *testing.T, m abiModules) {
	ls := labels.FromStrings
	long := strings.Repeat("v", 1<<16)
	var many, manyStripped []labels.Labels // 600 series of ~20 KiB: several requests
	for i := range 600 {
		b := labels.NewScratchBuilder(12)
		for j := range 10 {
			b.Add(fmt.Sprintf("l%d", j), fmt.Sprintf("%d-%s", i, strings.Repeat("x", 2000)))
		}
		b.Add("__name__", fmt.Sprintf("node_m%d", i))
		b.Sort()
		many = append(many, b.Labels())
		manyStripped = append(manyStripped, labels.NewBuilder(b.Labels()).Set("__name__", fmt.Sprintf("m%d", i)).Labels())
	}
	wide := labels.NewScratchBuilder(513)
	for j := range 513 {
		wide.Add(fmt.Sprintf("l%03d", j), "v")
	}
	tooWide := wide.Labels()
	cases := []abiSeriesCase{
		{name: "default prefix drops go_", in: []labels.Labels{
			ls("__name__", "go_goroutines"), ls("__name__", "up", "job", "node"),
			ls("__name__", "go_info", "version", "go1.26"), ls("__name__", "node_cpu_seconds_total", "cpu", "0"),
		}, want: []labels.Labels{ls("__name__", "up", "job", "node"), ls("__name__", "node_cpu_seconds_total", "cpu", "0")}},
		{name: "prefix from config", config: `{prefix: node_}`, in: []labels.Labels{
			ls("__name__", "go_goroutines"), ls("__name__", "node_load1"), ls("__name__", "nodes"),
		}, want: []labels.Labels{ls("__name__", "go_goroutines"), ls("__name__", "nodes")}},
		{name: "strip relabels", config: `{prefix: node_, strip: true}`, in: []labels.Labels{
			ls("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle"),
			ls("__name__", "node_"), // nothing left of the name: dropped
			ls("__name__", "up"),
			ls("job", "nameless"),
			ls("__name__", "node_load1", "site", "zürich ✓", "A", "upper"),
			ls("__name__", "node_x", "big", long), // a string of the largest size either way
		}, want: []labels.Labels{
			ls("__name__", "cpu_seconds_total", "cpu", "0", "mode", "idle"),
			ls("__name__", "up"),
			ls("job", "nameless"),
			ls("__name__", "load1", "site", "zürich ✓", "A", "upper"),
			ls("__name__", "x", "big", long),
		}},
		{name: "escapes in the config", config: `{prefix: "a\"b\\c<\u00e9"}`, in: []labels.Labels{
			ls("__name__", "a\"b\\c<éz"), ls("__name__", "a\"b\\c<"), ls("__name__", "a"),
		}, want: []labels.Labels{ls("__name__", "a\"b\\c<"), ls("__name__", "a")}},
		{name: "null is the default", config: `{prefix: null, strip: null}`, in: []labels.Labels{
			ls("__name__", "go_x"), ls("__name__", "node_x"),
		}, want: []labels.Labels{ls("__name__", "node_x")}},
		{name: "longest prefix", config: `{strip: true, prefix: "` + strings.Repeat("p", 255) + `"}`, in: []labels.Labels{
			ls("__name__", strings.Repeat("p", 255)+"_x"), ls("__name__", strings.Repeat("p", 254)),
		}, want: []labels.Labels{ls("__name__", "_x"), ls("__name__", strings.Repeat("p", 254))}},
		{name: "several requests", config: `{prefix: node_, strip: true}`, in: many, want: manyStripped},
		{name: "too many labels fail open", config: `{strip: true}`, onError: "fail_open",
			in:   []labels.Labels{ls("__name__", "go_x"), tooWide},
			want: []labels.Labels{ls("__name__", "go_x"), tooWide}, errKind: "guest"},
		{name: "too many labels fail closed", onError: "fail_closed",
			in: []labels.Labels{ls("__name__", "go_x"), tooWide}, held: true, errKind: "guest"},
		{name: "string too long fails", onError: "fail_open",
			in:   []labels.Labels{ls("__name__", "go_x", "big", long+"v")},
			want: []labels.Labels{ls("__name__", "go_x", "big", long+"v")}, errKind: "guest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestChain(t, prometheus.NewRegistry(), abiStage(t, "dp", m.dropprefix, tc.config, tc.onError))
			var calls float64
			for round := range 2 { // the second round is answered from the host's memo when the first succeeded
				b := batchOf(tc.in...)
				err := c.Process(context.Background(), b)
				if tc.held {
					if !errors.Is(err, ErrHeld) {
						t.Fatalf("round %d: Process = %v; want ErrHeld", round, err)
					}
				} else if err != nil {
					t.Fatalf("round %d: %v", round, err)
				} else if got := seriesLabels(b); !slices.EqualFunc(got, tc.want, labels.Equal) {
					t.Fatalf("round %d:\n got %s\nwant %s", round, abiShort(got), abiShort(tc.want))
				}
				if round == 0 {
					calls = testutil.ToFloat64(c.m.calls.WithLabelValues("dp"))
				}
			}
			after := testutil.ToFloat64(c.m.calls.WithLabelValues("dp"))
			if tc.errKind != "" {
				if got := testutil.ToFloat64(c.m.errors.WithLabelValues("dp", tc.errKind)); got != 2 {
					t.Errorf("errors{kind=%s} = %v; want 2 (one per batch, a failed answer is not remembered)", tc.errKind, got)
				}
			} else if calls < 1 || after != calls {
				t.Errorf("guest calls = %v after the first batch, %v after the second; want the second answered from the memo", calls, after)
			}
		})
	}
}

func seriesLabels(b *relay.Batch) []labels.Labels {
	var out []labels.Labels
	for _, s := range b.Series {
		out = append(out, s.Labels)
	}
	return out
}

// abiShort prints label sets with long values cut, for failure messages.
func abiShort(sets []labels.Labels) string {
	var parts []string
	for i, ls := range sets {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("... %d in all", len(sets)))
			break
		}
		s := ls.String()
		if len(s) > 120 {
			s = s[:120] + "..."
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// abiManyCalls makes 500 000 calls into one instance, as a long-running
// edge does: a module must not run out of memory when its live data does
// not grow (a Go module's runtime did, after ~340 000 of these calls,
// until the Go SDK collected garbage every 4096 calls).
func abiManyCalls(t *testing.T, m abiModules) {
	c := newTestChain(t, nil, abiStage(t, "dp", m.dropprefix, "", ""))
	s := c.series[0]
	init := s.mod.ExportedFunction("er_init")
	cfg := []byte(`{"prefix":"go_","strip":false}`)
	for i := range 500000 {
		if _, err := s.call(context.Background(), init, cfg); err != nil {
			t.Fatalf("call %d: %v (memory %d pages)", i, err, s.mem.Size()/65536)
		}
	}
}
