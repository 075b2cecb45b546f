package main

import (
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay/synth"
)

// TestStreamSlowConsumerCutOff runs a cloud whose subscribers may fall
// 2000 samples behind, fed by an edge scraping 1500 series every 100ms. A
// consumer that opens a stream of everything and never reads is cut off
// (edgerelay_stream_consumers_cut_off_total{reason="slow"}), while a
// consumer that reads keeps its stream, the cloud keeps writing scrape
// directories and the edge's queue stays empty: the slow consumer never
// slowed the receive path.
func TestStreamSlowConsumerCutOff(t *testing.T) {
	ts := httptest.NewServer(&synth.Target{Series: 500})
	t.Cleanup(ts.Close)
	env := newEnvWith(t, envOptions{cloud: "  stream: {buffer_samples: 2000, write_timeout: 2s}\n",
		scrape: jobYAML("synth", strings.TrimPrefix(ts.URL, "http://"), "100ms", "90ms")})
	env.startCloud(t)
	cloudMetrics := "http://" + env.cloudHTTP + "/metrics"

	// The slow one: a raw connection that sends the request and reads nothing.
	slow, err := net.Dial("tcp", env.cloudHTTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Close() })
	if tc, ok := slow.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(slow, "GET /api/v1/stream?match[]=%s HTTP/1.1\r\nHost: x\r\n\r\n", url.QueryEscape(`{job="synth"}`))
	waitFor(t, "the slow subscriber", 10*time.Second, func() bool { return metric(t, cloudMetrics, "edgerelay_stream_subscribers") == 1 })
	good := subscribe(t, env.cloudHTTP, `{__name__="synth_scrape_number"}`)

	start(t, env.bin, "run", "--config", env.edgeConfig)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	waitFor(t, "the slow subscriber cut off", 60*time.Second, func() bool {
		return metric(t, cloudMetrics, `edgerelay_stream_consumers_cut_off_total{reason="slow"}`) == 1
	})
	files := filepath.Join(env.dir, "files")
	before := len(readScrapes(t, files))
	lines, _, _ := good.got()
	waitFor(t, "20 more scrape directories after the cut-off", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= before+20 })
	if n := metric(t, cloudMetrics, "edgerelay_stream_subscribers"); n != 1 {
		t.Errorf("%v subscribers, want 1: the reading one", n)
	}
	waitFor(t, "20 more lines for the reading subscriber", 30*time.Second, func() bool {
		later, _, _ := good.got()
		return len(later) >= len(lines)+20
	})
	if q := metric(t, edgeMetrics, "edgerelay_queue_blocks"); q > 2 {
		t.Errorf("edge queue holds %v blocks: the slow consumer held the receive path", q)
	}
	if n := metric(t, cloudMetrics, `edgerelay_stream_consumers_cut_off_total{reason="write_timeout"}`); n != 0 {
		t.Errorf("write_timeout cut-offs %v, want 0 (slow came first)", n)
	}
}
