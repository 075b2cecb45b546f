package stream

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// delivery is a committed block of tenant with one scrape of target
// "node" at t: series a and b, value v.
func delivery(tenant string, t int64, v float64) *output.Delivery {
	series := func(name string) relay.Series {
		return relay.Series{Labels: labels.FromStrings("__name__", name, "job", "node", "tenant", tenant), Samples: []relay.Sample{{T: t, V: v}}}
	}
	return &output.Delivery{Tenant: tenant, Site: "s", Batches: []*relay.Batch{{Scrape: true, Job: "node", Timestamp: t,
		Series: []relay.Series{series("a"), series("b")}}}}
}

// server serves h at /api/v1/stream, every request allowed tenant "".
func server(t *testing.T, h *Hub, readTimeout time.Duration) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Serve(w, r, r.Header.Get("X-Allowed")) }))
	ts.Config.ReadTimeout = readTimeout
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL + "/api/v1/stream"
}

// open starts a stream and waits until the hub has n subscribers.
func open(t *testing.T, h *Hub, u string, n int, header ...string) *bufio.Scanner {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	waitFor(t, func() bool { return h.Subscribers() == n })
	return bufio.NewScanner(resp.Body)
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func next(t *testing.T, sc *bufio.Scanner) line {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("stream ended: %v", sc.Err())
	}
	return decodeLines(t, sc.Bytes())[0]
}

// TestSubscriberSeesMatchingSamplesInOrder streams series a of tenant acme
// to an operator naming tenant acme and to one reading every tenant: each
// sees exactly its series' samples, in order, and nothing of the other
// series or (for the first) of the other tenant.
func TestSubscriberSeesMatchingSamplesInOrder(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := New(Config{Registerer: reg})
	u := server(t, h, 0)
	q := url.Values{"match[]": {`{__name__="a"}`}}
	acme := open(t, h, u+"?"+q.Encode()+"&tenant=acme", 1)
	all := open(t, h, u+"?"+q.Encode(), 2)
	for i := range 50 {
		h.Committed(delivery("acme", int64(1000*i), float64(i)))
		h.Committed(delivery("other", int64(1000*i), float64(-i)))
	}
	for i := range 50 {
		l := next(t, acme)
		if l.Metric["__name__"] != "a" || l.Metric["tenant"] != "acme" || l.Timestamp != int64(1000*i) || l.Value != fmt.Sprint(i) {
			t.Fatalf("tenant acme line %d: %+v", i, l)
		}
		for _, want := range []string{"acme", "other"} {
			l := next(t, all)
			if l.Metric["__name__"] != "a" || l.Metric["tenant"] != want || l.Timestamp != int64(1000*i) {
				t.Fatalf("all tenants line %d: %+v, want tenant %s", i, l, want)
			}
		}
	}
	if got := testutil.ToFloat64(h.m.samples); got != 150 {
		t.Errorf("edgerelay_stream_samples_total = %v, want 150", got)
	}
}

// TestKeepsWhatItQueues: the hub keeps a Delivery (output.Delivery.Keep,
// so that the cloud does not reuse its arrays) exactly when a subscriber
// of its tenant is to read it after Committed returned.
func TestKeepsWhatItQueues(t *testing.T) {
	h := New(Config{Registerer: prometheus.NewRegistry()})
	u := server(t, h, 0)
	d := delivery("acme", 1000, 1)
	h.Committed(d)
	if d.Kept() {
		t.Fatal("kept a delivery with no subscriber")
	}
	q := url.Values{"match[]": {`{__name__="a"}`}}
	acme := open(t, h, u+"?"+q.Encode()+"&tenant=acme", 1)
	other := delivery("other", 2000, 2)
	h.Committed(other)
	if other.Kept() {
		t.Fatal("kept a delivery of a tenant no subscriber reads")
	}
	d = delivery("acme", 3000, 3)
	h.Committed(d)
	if !d.Kept() {
		t.Fatal("a subscriber reads the delivery, but the hub did not keep it")
	}
	if l := next(t, acme); l.Timestamp != 3000 {
		t.Fatalf("line %+v, want the sample at 3000", l)
	}
}

// TestStreamRefusals: requests that cannot stream get a status and a reason.
func TestStreamRefusals(t *testing.T) {
	h := New(Config{MaxSubscribers: 1})
	u := server(t, h, 0)
	for _, tc := range []struct {
		name, query, allowed string
		code                 int
		says                 string
	}{
		{"no selector", "", "", 400, "match[]"},
		{"bad selector", "match[]=" + url.QueryEscape("{job="), "", 400, "parse error"},
		{"another tenant", "match[]=up&tenant=other", "acme", 403, `not "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", u+"?"+tc.query, nil)
			req.Header.Set("X-Allowed", tc.allowed)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := make([]byte, 512)
			n, _ := resp.Body.Read(b)
			if resp.StatusCode != tc.code || !strings.Contains(string(b[:n]), tc.says) {
				t.Errorf("%d %q, want %d saying %q", resp.StatusCode, b[:n], tc.code, tc.says)
			}
		})
	}
	open(t, h, u+"?match[]=up", 1)
	resp, err := http.Get(u + "?match[]=up")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("stream beyond max_subscribers: %d, want 503", resp.StatusCode)
	}
}

// TestSlowConsumerCutOff: a subscriber that does not take its blocks is cut
// off once its buffer is full, without Committed ever waiting; its stream
// then ends with a line saying why, after what it was sent before.
func TestSlowConsumerCutOff(t *testing.T) {
	h := New(Config{BufferSamples: 10})
	s := h.subscribe("", [][]*labels.Matcher{{labels.MustNewMatcher(labels.MatchEqual, "__name__", "a")}})
	for i := range 8 { // 2 samples each: the 6th does not fit
		h.Committed(delivery("acme", int64(i), 1))
	}
	if h.Subscribers() != 0 || testutil.ToFloat64(h.m.cutOff.WithLabelValues(ReasonSlow)) != 1 {
		t.Fatalf("subscribers %d, cut off %v", h.Subscribers(), testutil.ToFloat64(h.m.cutOff.WithLabelValues(ReasonSlow)))
	}
	rec := httptest.NewRecorder()
	h.pump(rec, http.NewResponseController(rec), httptest.NewRequest("GET", "/", nil), s)
	got := decodeLines(t, rec.Body.Bytes())
	if len(got) != 1 || got[0].End != ReasonSlow {
		t.Fatalf("lines after a cut-off: %s", rec.Body.Bytes())
	}
}

// TestShutdownEndsStreams: Run's end closes every stream with a last line,
// and a stream outlives the listener's read timeout.
func TestShutdownEndsStreams(t *testing.T) {
	h := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	u := server(t, h, 100*time.Millisecond)
	sc := open(t, h, u+"?match[]=a", 1)
	time.Sleep(300 * time.Millisecond) // past the read timeout
	h.Committed(delivery("acme", 7, 1))
	if l := next(t, sc); l.Timestamp != 7 {
		t.Fatalf("line %+v", l)
	}
	cancel()
	<-done
	if l := next(t, sc); l.End != ReasonShutdown {
		t.Fatalf("last line %+v", l)
	}
	if sc.Scan() {
		t.Fatalf("more after the last line: %s", sc.Bytes())
	}
}
