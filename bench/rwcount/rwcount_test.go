package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// body is a remote_write request of series series, each with one sample per timestamp.
func body(t *testing.T, series int, ts ...int64) []byte {
	t.Helper()
	var wr prompb.WriteRequest
	for i := range series {
		s := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: fmt.Sprintf("m%d", i)}}}
		for _, v := range ts {
			s.Samples = append(s.Samples, prompb.Sample{Value: 1, Timestamp: v})
		}
		wr.Timeseries = append(wr.Timeseries, s)
	}
	raw, err := wr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func post(r *receiver, b []byte) int {
	w := httptest.NewRecorder()
	r.write(w, httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(b)))
	return w.Code
}

func query(t *testing.T, h http.HandlerFunc, url string) map[string]int64 {
	t.Helper()
	w := httptest.NewRecorder()
	h(w, httptest.NewRequest(http.MethodGet, url, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", url, w.Code, w.Body)
	}
	var out map[string]int64
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReceiverCounts(t *testing.T) {
	r := &receiver{}
	a, b := body(t, 3, 1000, 2000), body(t, 2, 5000)
	if code := post(r, a); code != http.StatusNoContent {
		t.Fatalf("first request: %d", code)
	}
	if code := post(r, b); code != http.StatusNoContent {
		t.Fatalf("second request: %d", code)
	}
	if code := post(r, []byte("not snappy")); code != http.StatusBadRequest {
		t.Fatalf("garbage: %d, want 400", code)
	}
	if code := post(r, snappy.Encode(nil, []byte{0xff, 0xff})); code != http.StatusBadRequest {
		t.Fatalf("snappy but not protobuf: %d, want 400", code)
	}

	now := time.Now().UnixMilli()
	all := query(t, r.arrivals, fmt.Sprintf("/arrivals?from=0&to=%d", now+1000))
	if all["samples"] != 8 || all["requests"] != 2 || all["bytes"] != int64(len(a)+len(b)) {
		t.Errorf("arrivals: %v, want 8 samples in 2 requests of %d bytes", all, len(a)+len(b))
	}
	if all["latency_p99_ms"] < now-5000 {
		t.Errorf("latency p99 %d ms: the oldest samples are stamped 1000, so it is at least %d", all["latency_p99_ms"], now-5000)
	}
	if got := query(t, r.arrivals, fmt.Sprintf("/arrivals?from=%d", now+1000)); got["samples"] != 0 {
		t.Errorf("arrivals after now: %v, want none", got)
	}
	if got := query(t, r.stamped, "/stamped?from=1000&to=2000"); got["samples"] != 3 {
		t.Errorf("stamped [1000,2000): %v, want 3", got)
	}
	c := query(t, r.catchup, "/catchup?from=1500&to=5000")
	if c["in"] != 3 || c["after"] != 2 || c["last_arrival_ms"] < now-60000 {
		t.Errorf("catchup [1500,5000): %v, want 3 in, 2 after, the last arrival of the first request", c)
	}
}
