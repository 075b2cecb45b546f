package cloud

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/deltaconv"
	"github.com/edgerelay/edgerelay/relay/expfmt"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// nativeScrape is one scrape holding an integer and a float native
// histogram, exemplars, and a float sample, as an edge's plugins hand it on.
func nativeScrape(ts int64) *relay.Batch {
	id := []string{"instance", "h:9100", "job", "node", "site", "s1"}
	l := func(kv ...string) labels.Labels { return labels.FromStrings(append(kv, id...)...) }
	return &relay.Batch{Scrape: true, Job: "node", Instance: "h:9100", Timestamp: ts, Series: []relay.Series{
		{
			Labels: l("__name__", "rpc_seconds"),
			Histograms: []relay.HistogramSample{{T: ts, H: &histogram.Histogram{
				Schema: 3, ZeroThreshold: math.Ldexp(1, -128), ZeroCount: 2, Count: 13, Sum: 17.25,
				PositiveSpans: []histogram.Span{{Offset: -2, Length: 2}, {Offset: 4, Length: 1}}, PositiveBuckets: []int64{1, 3, -2},
				NegativeSpans: []histogram.Span{{Offset: 0, Length: 1}}, NegativeBuckets: []int64{4},
			}}},
			Exemplars: []relay.Exemplar{{Labels: labels.FromStrings("trace_id", "4bf92f"), Value: 0.7, Ts: ts - 3, HasTs: true}},
		},
		{
			Labels: l("__name__", "queue_depth"),
			Histograms: []relay.HistogramSample{{T: ts, FH: &histogram.FloatHistogram{
				CounterResetHint: histogram.GaugeType, Schema: 0, ZeroThreshold: 0.5, ZeroCount: 1.5, Count: 4, Sum: 3.25,
				PositiveSpans: []histogram.Span{{Offset: 1, Length: 1}}, PositiveBuckets: []float64{2.5},
			}}},
		},
		{Labels: l("__name__", "up"), Samples: []relay.Sample{{T: ts, V: 1}}},
	}}
}

// TestNativeHistogramsReachEveryOutput hands the cloud a scrape with native
// histograms and exemplars, delta-encoded as an edge sends it, and finds it
// exactly in each output: the scrape's .native.gz, /federate in the
// protobuf format, and the requests a remote_write endpoint receives.
func TestNativeHistogramsReachEveryOutput(t *testing.T) {
	var mu sync.Mutex
	var received []prompb.TimeSeries
	rw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, _ := snappy.Decode(nil, body)
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		received = append(received, req.Timeseries...)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rw.Close()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("cloud:\n  data_dir: " + dir + "/cloud\n  files_dir: " + dir + "/files\n" +
		"  remote_write:\n    - url: " + rw.URL + "\n      send_native_histograms: true\n      send_exemplars: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newReceiver(cfg.Cloud, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.outputs.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
		c.outputs.Close()
	}()

	// A recent scrape: the outputs run, and the files' retention would
	// remove an old scrape's directory before the test looks for it.
	ts := time.Now().Add(-time.Minute).UnixMilli()
	b := nativeScrape(ts)
	var s delta.Scrape
	var kb deltaconv.KeyBuffer
	if !deltaconv.ScrapeOf(b, &s, labels.EmptyLabels(), &kb) {
		t.Fatal("the scrape does not fit the delta model")
	}
	enc := delta.NewEncoder(3)
	blk := block.Encode(nil, &relay.Block{Tenant: "acme", Site: "s1", Generation: enc.Generation(), Frames: [][]byte{enc.AppendFrame(nil, &s)}})
	if _, err := c.handle(context.Background(), transport.Peer{Tenant: "acme", Site: "s1", QueueID: 1}, 1, 0, blk); err != nil {
		t.Fatal(err)
	}
	// What every output must hold: the scrape with the authenticated tenant.
	want := nativeScrape(ts)
	for i := range want.Series {
		want.Series[i].Labels = labels.NewBuilder(want.Series[i].Labels).Set("tenant", "acme").Labels()
	}
	check := func(where string, lset labels.Labels, h *histogram.Histogram, fh *histogram.FloatHistogram) {
		t.Helper()
		for _, s := range want.Series {
			if !labels.Equal(s.Labels, lset) {
				continue
			}
			w := s.Histograms[0]
			if w.H != nil && (h == nil || !h.Equals(w.H)) || w.FH != nil && (fh == nil || !fh.Equals(w.FH)) {
				t.Errorf("%s: %s is %v%v, want %v%v", where, lset, h, fh, w.H, w.FH)
			}
			return
		}
		t.Errorf("%s: unexpected series %s", where, lset)
	}

	// Files.
	natives, _ := filepath.Glob(filepath.Join(dir, "files", "acme", "*", "*", "[0-9]*", "*.native.gz"))
	if len(natives) != 1 {
		t.Fatalf("native files %v, want one", natives)
	}
	f, err := os.Open(natives[0])
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := gzip.NewReader(f)
	text, _ := io.ReadAll(zr)
	f.Close()
	got, err := expfmt.ParseNative(text)
	if err != nil || len(got) != 2 {
		t.Fatalf("%v, %d series:\n%s", err, len(got), text)
	}
	for _, s := range got {
		check("files", s.Labels, s.Histograms[0].H, s.Histograms[0].FH)
	}
	if ex := got[0].Exemplars; len(ex) != 1 || !ex[0].Equals(want.Series[0].Exemplars[0]) {
		t.Errorf("files: exemplars %v, want %v", ex, want.Series[0].Exemplars)
	}

	// /federate, as a Prometheus with native histograms on asks for it.
	req := httptest.NewRequest(http.MethodGet, "/federate?match[]=%7Btenant%3D%22acme%22%7D", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3")
	rec := httptest.NewRecorder()
	c.fed.ServeHTTP(rec, req)
	p, err := textparse.New(rec.Body.Bytes(), rec.Header().Get("Content-Type"), labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hists := 0
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e == textparse.EntryHistogram {
			var lset labels.Labels
			_, _, h, fh := p.Histogram()
			p.Labels(&lset)
			check("/federate", lset, h, fh)
			hists++
		}
	}
	if hists != 2 {
		t.Errorf("/federate served %d histograms, want 2", hists)
	}

	// remote_write, which sends from its queue once the block is in it.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	exemplars, rwHists := 0, 0
	for _, ts := range received {
		var sb labels.ScratchBuilder
		lset := ts.ToLabels(&sb, nil)
		for _, ph := range ts.Histograms {
			rwHists++
			if ph.IsFloatHistogram() {
				check("remote_write", lset, nil, ph.ToFloatHistogram())
			} else {
				check("remote_write", lset, ph.ToIntHistogram(), nil)
			}
		}
		for _, pe := range ts.Exemplars {
			if e := pe.ToExemplar(&sb, nil); !e.Equals(want.Series[0].Exemplars[0]) || !strings.HasPrefix(lset.Get("__name__"), "rpc") {
				t.Errorf("remote_write: exemplar %v on %s", e, lset)
			}
			exemplars++
		}
	}
	if exemplars != 1 || rwHists != 2 {
		t.Errorf("remote_write: %d histograms and %d exemplars, want 2 and 1", rwHists, exemplars)
	}
}
