package rwout

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

func batch(n int, t0 int64) *relay.Batch {
	b := &relay.Batch{Timestamp: t0}
	for i := 0; i < n; i++ {
		b.Series = append(b.Series, relay.Series{
			Labels:  labels.FromStrings("__name__", "fwd_test", "i", fmt.Sprint(i), "job", "j"),
			Samples: []relay.Sample{{T: t0, V: float64(i)}},
		})
	}
	return b
}

func cfg(t *testing.T, u string, maxSamples int) *config.RemoteWriteConfig {
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	c := config.DefaultRemoteWriteConfig
	c.URL = &commoncfg.URL{URL: pu}
	c.QueueConfig.MaxSamplesPerSend = maxSamples
	c.QueueConfig.MinBackoff = model.Duration(10 * time.Millisecond)
	c.QueueConfig.MaxBackoff = model.Duration(100 * time.Millisecond)
	c.Headers = map[string]string{"X-Scope-OrgID": "acme"}
	c.MetadataConfig.Send = false
	return &c
}

// sink is a remote_write receiver: answer decides each response; every
// request answered 2xx is kept.
type sink struct {
	mu     sync.Mutex
	answer func(req *prompb.WriteRequest, r *http.Request) int
	taken  []prompb.WriteRequest
	heads  []http.Header
	calls  int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	code := http.StatusNoContent
	if s.answer != nil {
		code = s.answer(&req, r)
	}
	if code/100 == 2 {
		s.taken = append(s.taken, req)
		s.heads = append(s.heads, r.Header.Clone())
	}
	w.WriteHeader(code)
}

// samples counts each (series, timestamp) taken.
func (s *sink) samples() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, req := range s.taken {
		for _, ts := range req.Timeseries {
			var b labels.ScratchBuilder
			k := ts.ToLabels(&b, nil).String()
			for _, smp := range ts.Samples {
				out[fmt.Sprintf("%s@%d", k, smp.Timestamp)]++
			}
		}
	}
	return out
}

// TestDeliverReturnsWhileEndpointDown: Deliver returns as soon as the
// block is queued, whatever the endpoint does; the queue then drains in
// requests of max_samples_per_send through 500s and a 429 with
// Retry-After, every sample arriving once.
func TestDeliverReturnsWhileEndpointDown(t *testing.T) {
	var mu sync.Mutex
	up := false
	var retryAfterAt, afterRetry time.Time
	s := &sink{answer: func(req *prompb.WriteRequest, r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Scope-OrgID") != "acme" || r.Header.Get("Content-Encoding") != "snappy" {
			t.Errorf("headers: %v", r.Header)
		}
		switch {
		case !up:
			return 500
		case retryAfterAt.IsZero():
			retryAfterAt = time.Now()
			return 429
		case afterRetry.IsZero():
			afterRetry = time.Now()
		}
		return 204
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if up && retryAfterAt.IsZero() {
			w.Header().Set("Retry-After", "1")
		}
		mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	f := start(t, cfg(t, srv.URL, 4), Options{Registerer: reg})
	for i := 0; i < 5; i++ {
		deliver(t, f, batch(10, int64(1000+i)))
	}
	time.Sleep(200 * time.Millisecond)
	if st := f.queue.Stats(); st.Samples != 50 {
		t.Fatalf("queue holds %d samples while the endpoint is down, want 50", st.Samples)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	waitEmpty(t, f, 20*time.Second)
	got := s.samples()
	if len(got) != 50 {
		t.Fatalf("received %d distinct samples, want 50", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("%s received %d times", k, n)
		}
	}
	for _, req := range s.taken {
		if len(req.Timeseries) > 4 {
			t.Fatalf("a request carried %d samples, max_samples_per_send is 4", len(req.Timeseries))
		}
	}
	if d := afterRetry.Sub(retryAfterAt); d < 900*time.Millisecond {
		t.Fatalf("sent again %v after a 429 with Retry-After: 1", d)
	}
	if n := testutil.ToFloat64(f.m.sent); n != 50 {
		t.Fatalf("sent_samples_total %v, want 50", n)
	}
	if n := testutil.ToFloat64(f.m.retried); n == 0 {
		t.Fatal("retried_samples_total is 0 after 500s and a 429")
	}
}

// TestPartialSuccessNotSentAgain: with several shards, requests of some
// series fail for a while when others succeed; each sample still reaches
// the endpoint exactly once and each series' samples arrive in time order.
func TestPartialSuccessNotSentAgain(t *testing.T) {
	var mu sync.Mutex
	failUntil := time.Now().Add(time.Second)
	last := map[string]int64{}
	s := &sink{}
	s.answer = func(req *prompb.WriteRequest, r *http.Request) int {
		for _, ts := range req.Timeseries {
			if labels.Labels(prompbLabels(ts)).Get("i") == "3" && time.Now().Before(failUntil) {
				return 503
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ts := range req.Timeseries {
			k := labels.Labels(prompbLabels(ts)).String()
			for _, smp := range ts.Samples {
				if smp.Timestamp <= last[k] {
					t.Errorf("%s: sample at %d after one at %d", k, smp.Timestamp, last[k])
				}
				last[k] = smp.Timestamp
			}
		}
		return 204
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := cfg(t, srv.URL, 5)
	c.QueueConfig.MinShards, c.QueueConfig.MaxShards = 4, 4
	f := start(t, c, Options{})
	for i := 0; i < 40; i++ {
		deliver(t, f, batch(20, int64(1000+i)))
	}
	waitEmpty(t, f, 30*time.Second)
	got := s.samples()
	if len(got) != 800 {
		t.Fatalf("received %d distinct samples, want 800", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Fatalf("%s received %d times", k, n)
		}
	}
}

func prompbLabels(ts prompb.TimeSeries) labels.Labels {
	var b labels.ScratchBuilder
	return ts.ToLabels(&b, nil)
}

// TestRefusedForGood: a 400 drops its samples (counted as refused), and so
// does a 429 when retry_on_http_429 is false; the queue empties.
func TestRefusedForGood(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		retry  bool
		reason string
	}{
		{"400", 400, true, reasonRefused},
		{"429 with retry_on_http_429 false", 429, false, reasonRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{answer: func(*prompb.WriteRequest, *http.Request) int { return tc.code }}
			srv := httptest.NewServer(s)
			defer srv.Close()
			f := start(t, cfg(t, srv.URL, 100), Options{Out: config.RemoteWriteOut{RetryOn429: &tc.retry}})
			sendWait(t, f, batch(3, 1000))
			if n := testutil.ToFloat64(f.m.dropped.WithLabelValues(tc.reason)); n != 3 {
				t.Fatalf("dropped_samples_total{reason=%q} %v, want 3", tc.reason, n)
			}
			if s.calls != 1 {
				t.Fatalf("%d requests, want 1: refused for good is not retried", s.calls)
			}
		})
	}
}

// TestResentBlockSkipped: a block an edge delivers again (same tenant,
// site, queue id and sequence) is queued once, also after a restart.
func TestResentBlockSkipped(t *testing.T) {
	s := &sink{answer: func(*prompb.WriteRequest, *http.Request) int { return 503 }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	dir := t.TempDir()
	d := deliveryOf("acme", 7, batch(5, 1000))
	f, stop := startIn(t, dir, cfg(t, srv.URL, 100), Options{})
	for i := 0; i < 2; i++ {
		if err := f.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.queue.Stats().Samples; n != 5 {
		t.Fatalf("queue holds %d samples, want 5", n)
	}
	stop()
	s.mu.Lock()
	s.answer = nil
	s.mu.Unlock()
	f, _ = startIn(t, dir, cfg(t, srv.URL, 100), Options{})
	if err := f.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, f, 20*time.Second)
	if got := s.samples(); len(got) != 5 {
		t.Fatalf("received %v", got)
	} else {
		for k, n := range got {
			if n != 1 {
				t.Fatalf("%s received %d times", k, n)
			}
		}
	}
}

// TestTenantHeader: with tenant_header each request carries one tenant's
// series and names it in the header.
func TestTenantHeader(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := cfg(t, srv.URL, 1000)
	c.Headers = nil
	f := start(t, c, Options{Out: config.RemoteWriteOut{TenantHeader: "X-Scope-OrgID"}})
	for i, tenant := range []string{"acme", "bolt", "acme", "cobalt"} {
		b := batch(3, int64(1000+i))
		for j := range b.Series {
			b.Series[j].Labels = labels.NewBuilder(b.Series[j].Labels).Set("tenant", tenant).Labels()
		}
		if err := f.Deliver(t.Context(), deliveryOf(tenant, uint64(i+1), b)); err != nil {
			t.Fatal(err)
		}
	}
	waitEmpty(t, f, 20*time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i, req := range s.taken {
		h := s.heads[i].Get("X-Scope-OrgID")
		for _, ts := range req.Timeseries {
			if got := prompbLabels(ts).Get("tenant"); got != h {
				t.Fatalf("series of tenant %s sent with X-Scope-OrgID %q", got, h)
			}
			n++
		}
	}
	if n != 12 {
		t.Fatalf("%d series received, want 12", n)
	}
}

// TestQueueFullDropsOldest: while the endpoint is down the queue stays
// under queue_max_bytes, dropping its oldest samples, counted; what is
// left arrives once the endpoint is back, the newest included.
func TestQueueFullDropsOldest(t *testing.T) {
	var mu sync.Mutex
	down := true
	s := &sink{answer: func(*prompb.WriteRequest, *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return 503
		}
		return 204
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	f := start(t, cfg(t, srv.URL, 2000), Options{Out: config.RemoteWriteOut{QueueMaxBytes: 1 << 20}})
	const blocks, per = 60, 500
	for i := 0; i < blocks; i++ {
		deliver(t, f, batch(per, int64(1000+i)))
	}
	st := f.queue.Stats()
	if st.Bytes > 1<<20 {
		t.Fatalf("queue holds %d bytes, queue_max_bytes is 1MiB", st.Bytes)
	}
	// A block larger than the whole queue is taken too: its newest part
	// stays, the rest is counted dropped; its edge is not held.
	deliver(t, f, batch(30000, 999))
	if st := f.queue.Stats(); st.Bytes > 1<<20 {
		t.Fatalf("queue holds %d bytes after a block larger than it, queue_max_bytes is 1MiB", st.Bytes)
	}
	for i := 0; i < blocks; i++ {
		deliver(t, f, batch(per, int64(2000+i)))
	}
	st = f.queue.Stats()
	dropped := testutil.ToFloat64(f.m.dropped.WithLabelValues(reasonQueueFull))
	if dropped == 0 {
		t.Fatalf("no samples counted dropped for queue_full; queue holds %d bytes", st.Bytes)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	waitEmpty(t, f, 30*time.Second)
	got := s.samples()
	for k, n := range got {
		if n != 1 {
			t.Fatalf("%s received %d times", k, n)
		}
	}
	if float64(len(got))+dropped != 2*blocks*per+30000 {
		t.Fatalf("received %d + dropped %v != %d delivered", len(got), dropped, 2*blocks*per+30000)
	}
	if got[fmt.Sprintf(`{__name__="fwd_test", i="0", job="j"}@%d`, 2000+blocks-1)] != 1 {
		t.Fatal("the newest block did not arrive")
	}
}
