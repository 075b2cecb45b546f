package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
)

type sinkFunc func(context.Context, *relay.Batch) error

func (f sinkFunc) Submit(ctx context.Context, b *relay.Batch) error { return f(ctx, b) }

func rwBatchString(b *relay.Batch) string {
	var sb strings.Builder
	for _, s := range b.Series {
		fmt.Fprintf(&sb, "%s %v\n", s.Labels, s.Samples)
	}
	return sb.String()
}

// TestRemoteWriteReuseBatches sends remote_write 1.0 requests of different
// sizes, one after another, to a handler that decodes into reused memory
// (ReuseBatches), and checks each batch as the sink got it against the
// request; a batch the sink refused is never reused, so the sink may keep
// it: it is unchanged after later requests.
func TestRemoteWriteReuseBatches(t *testing.T) {
	var (
		got     []string
		refused *relay.Batch
	)
	sink := sinkFunc(func(_ context.Context, b *relay.Batch) error {
		got = append(got, rwBatchString(b))
		if refused == nil && len(got) == 3 {
			refused = b
			return errors.New("refused")
		}
		return nil
	})
	h := NewRemoteWriteHandler(sink, RemoteWriteConfig{ReuseBatches: true})
	var want []string
	for i, n := range []int{50, 10, 80, 80, 5, 120} {
		req := &prompb.WriteRequest{}
		for j := range n {
			samples := []prompb.Sample{{Value: float64(i*1000 + j), Timestamp: int64(i + 2)}}
			if j%3 == 0 {
				samples = append(samples, prompb.Sample{Value: -1, Timestamp: int64(i + 1)})
			}
			req.Timeseries = append(req.Timeseries, v1Series(samples, "__name__", "m", "i", fmt.Sprint(i), "j", fmt.Sprint(j)))
		}
		b, _, err := decodeV1Reference(marshalV1(t, req), 1)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rwBatchString(b))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(snappy.Encode(nil, marshalV1(t, req)))))
		if code := rec.Code; (code == http.StatusNoContent) != (i != 2) {
			t.Fatalf("request %d: %d %s", i, code, rec.Body)
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("request %d: sink got\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
	if s := rwBatchString(refused); s != want[2] {
		t.Fatalf("refused batch changed by later requests:\n%s\nwant\n%s", s, want[2])
	}
}
