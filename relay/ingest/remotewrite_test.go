package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
)

const ctV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"

var receivedAt = time.UnixMilli(1_700_000_000_123)

func marshalV1(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalV2(t testing.TB, req *writev2.Request) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lbls(kv ...string) []prompb.Label {
	out := make([]prompb.Label, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func v1Series(samples []prompb.Sample, kv ...string) prompb.TimeSeries {
	return prompb.TimeSeries{Labels: lbls(kv...), Samples: samples}
}

// v2Body builds a remote_write 2.0 request of one series with the given labels.
func v2Request(kv []string, samples []writev2.Sample, md writev2.Metadata, extraSyms ...string) *writev2.Request {
	st := writev2.NewSymbolTable()
	ls := labels.FromStrings(kv...)
	refs := st.SymbolizeLabels(ls, nil)
	for _, s := range extraSyms {
		st.Symbolize(s)
	}
	return &writev2.Request{Symbols: st.Symbols(), Timeseries: []writev2.TimeSeries{{LabelsRefs: refs, Samples: samples, Metadata: md}}}
}

type rwCase struct {
	name        string
	method      string
	contentType string
	encoding    string
	body        []byte // sent as is
	maxBytes    int64
	sinkErr     error

	wantCode   int
	wantReason string // substring of the response body
	check      func(t *testing.T, b *relay.Batch, resp *http.Response)
}

func TestRemoteWriteHandler(t *testing.T) {
	stale := math.Float64frombits(value.StaleNaN)
	good := snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		v1Series([]prompb.Sample{{Value: 1.5, Timestamp: 1000}, {Value: stale, Timestamp: 2000}}, "zone", "b", "__name__", "temp_celsius", "job", "j"),
	}}))
	cases := []rwCase{
		{
			name: "v1 series with unsorted labels", body: good, wantCode: http.StatusNoContent,
			check: func(t *testing.T, b *relay.Batch, _ *http.Response) {
				if b.Scrape || b.Job != "" || b.Timestamp != receivedAt.UnixMilli() {
					t.Errorf("batch header = scrape %v job %q ts %d", b.Scrape, b.Job, b.Timestamp)
				}
				if len(b.Series) != 1 {
					t.Fatalf("series = %d, want 1", len(b.Series))
				}
				s := b.Series[0]
				if want := `{__name__="temp_celsius", job="j", zone="b"}`; s.Labels.String() != want {
					t.Errorf("labels = %s, want %s", s.Labels, want)
				}
				if len(s.Samples) != 2 || s.Samples[0] != (relay.Sample{T: 1000, V: 1.5}) ||
					s.Samples[1].T != 2000 || math.Float64bits(s.Samples[1].V) != value.StaleNaN {
					t.Errorf("samples = %v", s.Samples)
				}
			},
		},
		{
			name: "v1 metadata, empty label value dropped, out-of-order samples sorted", wantCode: http.StatusNoContent,
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{
				Timeseries: []prompb.TimeSeries{v1Series([]prompb.Sample{{Value: 2, Timestamp: 20}, {Value: 1, Timestamp: 10}}, "__name__", "reqs_total", "empty", "")},
				Metadata: []prompb.MetricMetadata{
					{Type: prompb.MetricMetadata_COUNTER, MetricFamilyName: "reqs_total", Help: "Requests.", Unit: "requests"},
					{Type: prompb.MetricMetadata_MetricType(99), MetricFamilyName: "odd", Help: "Odd."},
				},
			})),
			check: func(t *testing.T, b *relay.Batch, _ *http.Response) {
				if got := b.Series[0].Labels.String(); got != `{__name__="reqs_total"}` {
					t.Errorf("labels = %s", got)
				}
				if s := b.Series[0].Samples; s[0].T != 10 || s[1].T != 20 {
					t.Errorf("samples not sorted: %v", s)
				}
				if got, want := b.Metadata["reqs_total"], (relay.Metadata{Type: "counter", Help: "Requests.", Unit: "requests"}); got != want {
					t.Errorf("metadata = %+v, want %+v", got, want)
				}
				if got := b.Metadata["odd"].Type; got != "unknown" {
					t.Errorf("unknown enum type = %q, want unknown", got)
				}
			},
		},
		{
			name: "v1 metadata only is kept", wantCode: http.StatusNoContent,
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Metadata: []prompb.MetricMetadata{
				{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "g", Help: "G."},
			}})),
			check: func(t *testing.T, b *relay.Batch, _ *http.Response) {
				if len(b.Series) != 0 || b.Metadata["g"].Type != "gauge" {
					t.Errorf("batch = %+v", b)
				}
			},
		},
		{
			name: "v1 histograms are carried beside floats", wantCode: http.StatusNoContent,
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				{Labels: lbls("__name__", "h"), Histograms: []prompb.Histogram{{Timestamp: 5, Schema: 0}}},
				v1Series([]prompb.Sample{{Value: 3, Timestamp: 5}}, "__name__", "f"),
			}})),
			check: func(t *testing.T, b *relay.Batch, _ *http.Response) {
				if len(b.Series) != 2 || b.Series[0].Labels.Get("__name__") != "h" || len(b.Series[0].Histograms) != 1 ||
					b.Series[0].Histograms[0].T != 5 || b.Series[1].Labels.Get("__name__") != "f" {
					t.Errorf("series = %+v", b.Series)
				}
			},
		},
		{
			name: "v2 request", contentType: ctV2, wantCode: http.StatusNoContent,
			body: snappy.Encode(nil, marshalV2(t, v2Request(
				[]string{"__name__", "lat_seconds_bucket", "le", "0.5"},
				[]writev2.Sample{{Value: 7, Timestamp: 99}},
				writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_HISTOGRAM, HelpRef: 5, UnitRef: 6},
				"Latency.", "seconds"))),
			check: func(t *testing.T, b *relay.Batch, resp *http.Response) {
				if len(b.Series) != 1 || b.Series[0].Samples[0] != (relay.Sample{T: 99, V: 7}) {
					t.Errorf("series = %+v", b.Series)
				}
				if got, want := b.Metadata["lat_seconds"], (relay.Metadata{Type: "histogram", Help: "Latency.", Unit: "seconds"}); got != want {
					t.Errorf("metadata = %+v, want %+v", got, want)
				}
				if got := resp.Header.Get(hdrSamplesWritten); got != "1" {
					t.Errorf("%s = %q, want 1", hdrSamplesWritten, got)
				}
			},
		},
		{name: "GET", method: http.MethodGet, wantCode: http.StatusMethodNotAllowed, wantReason: "POST"},
		{name: "not snappy", body: []byte("hello, this is not snappy"), wantCode: http.StatusBadRequest, wantReason: "snappy"},
		{name: "truncated snappy", body: good[:len(good)-3], wantCode: http.StatusBadRequest, wantReason: "snappy"},
		{name: "not protobuf", body: snappy.Encode(nil, []byte("\x0a\x05ab")), wantCode: http.StatusBadRequest, wantReason: "protobuf"},
		{
			name: "empty label name", wantCode: http.StatusBadRequest, wantReason: "empty label name",
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				v1Series([]prompb.Sample{{Value: 1}}, "__name__", "m", "", "x"),
			}})),
		},
		{
			name: "duplicate label name", wantCode: http.StatusBadRequest, wantReason: `duplicate label name "a"`,
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				v1Series([]prompb.Sample{{Value: 1}}, "__name__", "m", "a", "1", "a", "2"),
			}})),
		},
		{
			name: "no metric name", wantCode: http.StatusBadRequest, wantReason: "no metric name",
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				v1Series([]prompb.Sample{{Value: 1}}, "a", "1"),
			}})),
		},
		{
			name: "invalid UTF-8 value", wantCode: http.StatusBadRequest, wantReason: "UTF-8",
			body: snappy.Encode(nil, marshalV1(t, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
				v1Series([]prompb.Sample{{Value: 1}}, "__name__", "m", "a", "\xff"),
			}})),
		},
		{name: "body over limit", body: good, maxBytes: int64(len(good) - 1), wantCode: http.StatusRequestEntityTooLarge, wantReason: "limit"},
		{
			name: "decoded size over limit", maxBytes: 1000, wantCode: http.StatusRequestEntityTooLarge, wantReason: "decoded",
			body: snappy.Encode(nil, make([]byte, 5000)),
		},
		{name: "unknown proto", contentType: "application/x-protobuf;proto=foo.Bar", body: good, wantCode: http.StatusUnsupportedMediaType, wantReason: "foo.Bar"},
		{name: "JSON content type", contentType: "application/json", body: good, wantCode: http.StatusUnsupportedMediaType, wantReason: "application/x-protobuf"},
		{name: "gzip encoding", encoding: "gzip", body: good, wantCode: http.StatusUnsupportedMediaType, wantReason: "snappy"},
		{
			name: "v2 symbol out of range", contentType: ctV2, wantCode: http.StatusBadRequest, wantReason: "out of range",
			body: snappy.Encode(nil, marshalV2(t, &writev2.Request{Symbols: []string{"", "__name__"}, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 7}}}})),
		},
		{
			name: "v2 odd label refs", contentType: ctV2, wantCode: http.StatusBadRequest, wantReason: "odd number",
			body: snappy.Encode(nil, marshalV2(t, &writev2.Request{Symbols: []string{"", "__name__"}, Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1}}}})),
		},
		{name: "v1 body sent as v2", contentType: ctV2, body: good, wantCode: http.StatusBadRequest, wantReason: "1.0 body"},
		{
			name: "v2 body sent as v1", wantCode: http.StatusBadRequest, wantReason: "2.0 body",
			body: snappy.Encode(nil, marshalV2(t, v2Request([]string{"__name__", "m"}, []writev2.Sample{{Value: 1}}, writev2.Metadata{}))),
		},
		{name: "queue full", body: good, sinkErr: fmt.Errorf("append: %w", relay.ErrQueueFull), wantCode: http.StatusServiceUnavailable, wantReason: "queue"},
		{name: "sink fails", body: good, sinkErr: errors.New("disk on fire"), wantCode: http.StatusInternalServerError, wantReason: "disk on fire"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runRWCase(t, tc)
		})
	}
}

func runRWCase(t *testing.T, tc rwCase) {
	sink := newRecordingSink()
	if tc.sinkErr != nil {
		sink.setFail(func(*relay.Batch) error { return tc.sinkErr })
	}
	reg := prometheus.NewRegistry()
	h := NewRemoteWriteHandler(sink, RemoteWriteConfig{
		MaxBodyBytes: tc.maxBytes, Registerer: reg, Now: func() time.Time { return receivedAt },
	})
	method := tc.method
	if method == "" {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, "/api/v1/write", bytes.NewReader(tc.body))
	req.Header.Set("Content-Encoding", "snappy")
	if tc.encoding != "" {
		req.Header.Set("Content-Encoding", tc.encoding)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if tc.contentType != "" {
		req.Header.Set("Content-Type", tc.contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)

	if resp.StatusCode != tc.wantCode {
		t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tc.wantCode)
	}
	if !strings.Contains(string(body), tc.wantReason) {
		t.Errorf("body %q does not name %q", body, tc.wantReason)
	}
	if strings.Count(strings.TrimSpace(string(body)), "\n") > 0 {
		t.Errorf("reason is not one line: %q", body)
	}
	if got := metrictest.Value(t, reg, "edgerelay_remote_write_requests_total", "code", fmt.Sprint(tc.wantCode)); got != 1 {
		t.Errorf("requests_total{code=%d} = %v, want 1", tc.wantCode, got)
	}
	batches := sink.all()
	if tc.wantCode != http.StatusNoContent {
		if len(batches) != 0 {
			t.Errorf("sink kept %d batches for a refused request", len(batches))
		}
		if tc.wantCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if got, _ := metrictest.Find(t, reg, "edgerelay_ingested_samples_total"); got != 0 {
			t.Errorf("ingested = %v for a refused request", got)
		}
		return
	}
	if len(batches) != 1 {
		t.Fatalf("sink got %d batches, want 1", len(batches))
	}
	if got, want := metrictest.Value(t, reg, "edgerelay_ingested_samples_total", "source", "remote_write"), float64(batches[0].Samples()); got != want {
		t.Errorf("ingested = %v, want %v", got, want)
	}
	if tc.check != nil {
		tc.check(t, batches[0], resp)
	}
}

// TestSharedIngestCounter checks that both ingest paths can register on one
// registry and share edgerelay_ingested_samples_total.
func TestSharedIngestCounter(t *testing.T) {
	reg := prometheus.NewRegistry()
	_ = NewRemoteWriteHandler(newRecordingSink(), RemoteWriteConfig{Registerer: reg})
	_ = NewRemoteWriteHandler(newRecordingSink(), RemoteWriteConfig{Registerer: reg}) // a second one shares the counters
	if _, err := NewScraper(newRecordingSink(), ScrapeConfig{Registerer: reg}); err != nil {
		t.Fatalf("NewScraper on a registry the handler uses: %v", err)
	}
}

// BenchmarkRemoteWriteHandler reports the cost of taking one sample through
// the handler (snappy, protobuf, labels, batch), the sink doing nothing.
func BenchmarkRemoteWriteHandler(b *testing.B) {
	const nSeries = 2000
	req := &prompb.WriteRequest{}
	for i := range nSeries {
		req.Timeseries = append(req.Timeseries, v1Series([]prompb.Sample{{Value: float64(i), Timestamp: 1}},
			"__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i%64), "mode", fmt.Sprint(i/64), "instance", "host:9100", "job", "node"))
	}
	body := snappy.Encode(nil, marshalV1(b, req))
	h := NewRemoteWriteHandler(discardSink{}, RemoteWriteConfig{})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body)))
		if rec.Code != http.StatusNoContent {
			b.Fatal(rec.Code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nSeries), "ns/sample")
	b.ReportMetric(float64(len(body))/nSeries, "wire-bytes/sample")
}

type discardSink struct{}

func (discardSink) Submit(context.Context, *relay.Batch) error { return nil }
