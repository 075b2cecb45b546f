package host

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// abiSamplesCases are the sample-level half of TestABISuite, on the scale
// plugin: columns in, changed and shortened columns out, value bits kept.
func abiSamplesCases(t *testing.T, m abiModules) {
	stale := math.Float64frombits(value.StaleNaN)
	series := func(name string, vs ...float64) relay.Series {
		s := relay.Series{Labels: labels.FromStrings("__name__", name)}
		for i, v := range vs {
			s.Samples = append(s.Samples, relay.Sample{T: int64(1000 * (i + 1)), V: v})
		}
		return s
	}
	var big, bigHalf relay.Series // 100 000 samples: a 2 MB request
	big, bigHalf = series("big"), series("big")
	for i := range 100000 {
		big.Samples = append(big.Samples, relay.Sample{T: int64(i), V: float64(i)})
		bigHalf.Samples = append(bigHalf.Samples, relay.Sample{T: int64(i), V: float64(i) / 2})
	}
	cases := []struct {
		name, dropprefix, config, onError string
		in, want                          []relay.Series
		held                              bool
		errKind                           string
	}{
		{name: "scale, drop, keep staleness markers", config: `{factor: 2, drop_below: 0}`,
			in: []relay.Series{series("a", 1, 2), series("b", -1), series("c", stale, 3), series("d", -5, -6), series("e", math.Inf(1), 0.1)},
			want: []relay.Series{series("a", 2, 4), {Labels: labels.FromStrings("__name__", "c"),
				Samples: []relay.Sample{{T: 1000, V: stale}, {T: 2000, V: 6}}}, series("e", math.Inf(1), 0.2)}},
		{name: "exponent in the config", config: `{factor: -1.5E-3}`, in: []relay.Series{series("a", 1000, 2)},
			want: []relay.Series{series("a", -1.5, -0.003)}},
		{name: "defaults pass everything", in: []relay.Series{series("a", 1, -2), series("b", stale)},
			want: []relay.Series{series("a", 1, -2), series("b", stale)}},
		{name: "a large batch", config: `{factor: 0.5}`, in: []relay.Series{big}, want: []relay.Series{bigHalf}},
		{name: "after a series-level stage", dropprefix: `{prefix: go_}`, config: `{factor: 10}`,
			in:   []relay.Series{series("go_x", 1), series("up", 1), series("go_y", 2), series("temp", -0.5, 3)},
			want: []relay.Series{series("up", 10), series("temp", -5, 30)}},
		{name: "guest error fails open", config: `{fail_on: 13, factor: 2}`, onError: "fail_open",
			in: []relay.Series{series("a", 1), series("b", 13)}, want: []relay.Series{series("a", 1), series("b", 13)}, errKind: "guest"},
		{name: "guest error fails closed", config: `{fail_on: 13}`, onError: "fail_closed",
			in: []relay.Series{series("a", 1), series("b", 13)}, held: true, errKind: "guest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			stages := []config.PluginConfig{abiStage(t, "scale", m.scale, tc.config, tc.onError)}
			if tc.dropprefix != "" {
				stages = append([]config.PluginConfig{abiStage(t, "dp", m.dropprefix, tc.dropprefix, "")}, stages...)
			}
			c := newTestChain(t, reg, stages...)
			b := &relay.Batch{Series: append([]relay.Series(nil), tc.in...)}
			for i := range b.Series {
				b.Series[i].Samples = append([]relay.Sample(nil), tc.in[i].Samples...)
			}
			err := c.Process(context.Background(), b)
			switch {
			case tc.held:
				if !errors.Is(err, ErrHeld) {
					t.Fatalf("Process = %v; want ErrHeld", err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got, want := samplesString(b.Series), samplesString(tc.want); got != want {
					t.Fatalf("\n got %.600s\nwant %.600s", got, want)
				}
			}
			if tc.errKind != "" {
				if got := testutil.ToFloat64(c.m.errors.WithLabelValues("scale", tc.errKind)); got != 1 {
					t.Errorf("errors{kind=%s} = %v; want 1", tc.errKind, got)
				}
			}
		})
	}
}

// samplesString prints series with their samples' timestamps and value
// bits, so a staleness marker differs from any other NaN.
func samplesString(ss []relay.Series) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.Labels.String())
		for _, p := range s.Samples {
			b.WriteString(" ")
			b.WriteString(strconv.FormatInt(p.T, 10))
			b.WriteString("@")
			b.WriteString(strconv.FormatUint(math.Float64bits(p.V), 16))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// abiConfigCases: a config either SDK's plugin refuses fails loading the
// stage, and the error names what was wrong.
func abiConfigCases(t *testing.T, m abiModules) {
	cases := []struct{ module, config, want string }{
		{m.dropprefix, `{prefx: go_}`, "prefx"},
		{m.dropprefix, `{prefix: 5}`, "prefix"},
		{m.dropprefix, `{strip: "yes"}`, "strip"},
		{m.dropprefix, `{prefix: ""}`, "prefix must not be empty"},
		{m.dropprefix, `{prefix: "` + strings.Repeat("p", 256) + `"}`, "prefix"},
		{m.dropprefix, `{prefix: "a\0b"}`, "prefix"},
		{m.dropprefix, `{prefix: "go_", prefix2: {nested: [1, "}"]}}`, "prefix2"},
		{m.scale, `{factor: "2"}`, "factor"},
		{m.scale, `{factr: 2}`, "factr"},
	}
	for _, tc := range cases {
		_, err := NewChain(context.Background(), []config.PluginConfig{abiStage(t, "s", tc.module, tc.config, "")}, Options{})
		var se *StageError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %s: NewChain = %v; want a stage error naming %q", tc.config, err, tc.want)
		}
	}
}
