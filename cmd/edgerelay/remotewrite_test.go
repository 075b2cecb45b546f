package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// The end-to-end tests speak remote_write as Prometheus does: they send it
// to the edge and receive it from the cloud's remote_write output.

// writeMessage is a remote_write request: *prompb.WriteRequest (1.0) or
// *writev2.Request (2.0).
type writeMessage interface{ Marshal() ([]byte, error) }

// postWrite sends req to url snappy-compressed, with the headers Prometheus
// sends for its version, and returns the answer's status and body.
func postWrite(ctx context.Context, url string, req writeMessage) (int, string, error) {
	raw, err := req.Marshal()
	if err != nil {
		return 0, "", err
	}
	hr, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return 0, "", err
	}
	hr.Header.Set("Content-Encoding", "snappy")
	if _, v2 := req.(*writev2.Request); v2 {
		hr.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
		hr.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	} else {
		hr.Header.Set("Content-Type", "application/x-protobuf")
		hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// mustWrite is postWrite within 10 seconds, failing the test unless the
// answer is 2xx; what names the request in the failure.
func mustWrite(t *testing.T, url string, req writeMessage, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := postWrite(ctx, url, req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if code/100 != 2 {
		t.Fatalf("%s: %d %s", what, code, body)
	}
}

// readWrite decodes the remote_write 1.0 request r; when it cannot, it
// answers 400 and returns false.
func readWrite(w http.ResponseWriter, r *http.Request) (*prompb.WriteRequest, bool) {
	body, err := io.ReadAll(r.Body)
	var raw []byte
	if err == nil {
		raw, err = snappy.Decode(nil, body)
	}
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return &req, true
}
