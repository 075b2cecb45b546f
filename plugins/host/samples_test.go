package host

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

func TestSampleLevelStage(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := newTestChain(t, reg,
		stageConf(t, "drop-go", "../../wasm-examples/dropprefix/dropprefix.wasm", `{prefix: go_}`),
		stageConf(t, "echo", "testdata/echosamples.wasm", ""))
	b := &relay.Batch{Series: []relay.Series{
		{Labels: labels.FromStrings("__name__", "up"), Samples: []relay.Sample{{T: 1, V: 1}, {T: 2, V: 2}}},
		{Labels: labels.FromStrings("__name__", "go_goroutines"), Samples: []relay.Sample{{T: 1, V: 7}}},
		{Labels: labels.FromStrings("__name__", "temp"), Samples: []relay.Sample{{T: 1, V: -0.5}}},
	}}
	if err := c.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seriesStrings(b), " "); got != `{__name__="up"} {__name__="temp"}` {
		t.Fatalf("series = %s", got)
	}
	if len(b.Series[0].Samples) != 2 || b.Series[0].Samples[1] != (relay.Sample{T: 2, V: 2}) || b.Series[1].Samples[0].V != -0.5 {
		t.Fatalf("samples changed: %+v", b.Series)
	}
	if in, out := testutil.ToFloat64(c.m.samplesIn.WithLabelValues("echo")), testutil.ToFloat64(c.m.samplesOut.WithLabelValues("echo")); in != 3 || out != 3 {
		t.Errorf("echo samples in/out = %v/%v; want 3/3", in, out)
	}
	if in, out := testutil.ToFloat64(c.m.samplesIn.WithLabelValues("drop-go")), testutil.ToFloat64(c.m.samplesOut.WithLabelValues("drop-go")); in != 4 || out != 3 {
		t.Errorf("drop-go samples in/out = %v/%v; want 4/3", in, out)
	}
}

func TestSeriesStageAfterSampleStage(t *testing.T) {
	_, err := NewChain(context.Background(), []config.PluginConfig{
		{Name: "echo", Module: "testdata/echosamples.wasm"},
		{Name: "pass", Module: "testdata/passthrough.wasm"},
	}, Options{})
	if err == nil || !strings.Contains(err.Error(), "series-level stages first") {
		t.Fatalf("err = %v", err)
	}
}
