package rwout

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
)

// TestMetadataSentWhenNewChangedAndEachInterval checks what metadata each
// request carries: a family's on first sight and on change, none for an
// unchanged family, every family's again once send_interval has passed,
// and none at all with metadata_config.send false.
func TestMetadataSentWhenNewChangedAndEachInterval(t *testing.T) {
	var mu sync.Mutex
	var got [][]string // per request: "family type help unit"
	code := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, _ := snappy.Decode(nil, body)
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var fams []string
		for _, m := range req.Metadata {
			fams = append(fams, m.MetricFamilyName+" "+m.Type.String()+" "+m.Help+" "+m.Unit)
		}
		got = append(got, fams)
		w.WriteHeader(code)
	}))
	defer srv.Close()
	c := cfg(t, srv.URL, 100)
	c.MetadataConfig.Send, c.MetadataConfig.SendInterval = true, model.Duration(time.Minute)
	f := start(t, c, Options{})
	now := time.Unix(1000, 0)
	f.meta.now = func() time.Time { return now }

	send := func(meta map[string]relay.Metadata) []string {
		t.Helper()
		b := batch(2, 1000)
		b.Metadata = meta
		mu.Lock()
		got = nil
		mu.Unlock()
		sendWait(t, f, b)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("%d requests, want 1", len(got))
		}
		return got[0]
	}
	req := map[string]relay.Metadata{
		"fwd_test":    {Type: "counter", Help: "Requests.", Unit: "requests"},
		"fwd_latency": {Type: "histogram", Help: "Latency."},
	}
	want := func(step string, have []string, w ...string) {
		t.Helper()
		if len(have) != len(w) {
			t.Fatalf("%s: metadata %q, want %q", step, have, w)
		}
		for i := range w {
			if have[i] != w[i] {
				t.Fatalf("%s: metadata %q, want %q", step, have, w)
			}
		}
	}
	want("first", send(req), "fwd_latency HISTOGRAM Latency. ", "fwd_test COUNTER Requests. requests")
	now = now.Add(time.Second)
	want("unchanged", send(req))
	req["fwd_test"] = relay.Metadata{Type: "counter", Help: "Requests served.", Unit: "requests"}
	want("changed", send(req), "fwd_test COUNTER Requests served. requests")
	want("no metadata in the batch", send(nil))
	now = now.Add(time.Minute)
	want("interval", send(nil), "fwd_latency HISTOGRAM Latency. ", "fwd_test COUNTER Requests served. requests")

	// A request that fails is sent again with its metadata.
	req["fwd_new"] = relay.Metadata{Type: "gauge", Help: "New."}
	mu.Lock()
	code = http.StatusServiceUnavailable
	mu.Unlock()
	go func() {
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		code = http.StatusNoContent
		mu.Unlock()
	}()
	b := batch(1, 1000)
	b.Metadata = req
	mu.Lock()
	got = nil
	mu.Unlock()
	sendWait(t, f, b)
	mu.Lock()
	last := got[len(got)-1]
	mu.Unlock()
	want("after a failure", last, "fwd_new GAUGE New. ")

	c.MetadataConfig.Send = false
	f = start(t, c, Options{})
	want("send: false", send(req))
}
