package federate

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/edgerelay/edgerelay/relay"
)

// fixture holds two tenants with a counter, a histogram and a gauge.
func fixture(t testing.TB) *Store {
	t.Helper()
	c := newClock()
	s := testStore(c)
	for _, tenant := range []string{"acme", "globex"} {
		id := []string{"instance", "h:9100", "job", "node", "site", "s1", "tenant", tenant}
		l := func(kv ...string) labels.Labels { return labels.FromStrings(append(kv, id...)...) }
		s.Update(tenant, &relay.Batch{
			Series: []relay.Series{
				{Labels: l("__name__", "http_requests_total", "code", "200"), Samples: []relay.Sample{{T: 1000, V: 5}, {T: 2000, V: 7}}},
				{Labels: l("__name__", "lat_seconds_bucket", "le", "+Inf"), Samples: []relay.Sample{{T: 2000, V: 3}}},
				{Labels: l("__name__", "lat_seconds_bucket", "le", "0.5"), Samples: []relay.Sample{{T: 2000, V: 2}}},
				{Labels: l("__name__", "lat_seconds_sum"), Samples: []relay.Sample{{T: 2000, V: 0.75}}},
				{Labels: l("__name__", "lat_seconds_count"), Samples: []relay.Sample{{T: 2000, V: 3}}},
				{Labels: l("__name__", "temp_celsius"), Samples: []relay.Sample{{T: 1500, V: -3.5}}},
			},
			Metadata: map[string]relay.Metadata{
				"http_requests": {Type: "counter", Help: "Requests."},
				"lat_seconds":   {Type: "histogram", Help: "Latency."},
				"temp_celsius":  {Type: "gauge", Help: "Temperature."},
			},
		})
	}
	return s
}

type response struct {
	code   int
	body   string
	series []string // label sets parsed back, sorted
}

func get(t *testing.T, s *Store, query string, hdr http.Header) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/federate?"+query, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	r := response{code: rec.Code, body: string(body)}
	if rec.Code != http.StatusOK {
		return r
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q", ct)
	}
	p := textparse.NewPromParser(body, labels.NewSymbolTable(), false)
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("textparse: %v\n%s", err, body)
		}
		if e == textparse.EntrySeries {
			var l labels.Labels
			p.Labels(&l)
			if _, ts, _ := p.Series(); ts == nil {
				t.Fatalf("sample without timestamp:\n%s", body)
			}
			r.series = append(r.series, l.Get("tenant")+"/"+l.Get("__name__")+"/"+l.Get("le"))
		}
	}
	slices.Sort(r.series)
	return r
}

func q(matches ...string) string {
	v := url.Values{}
	for _, m := range matches {
		v.Add("match[]", m)
	}
	return v.Encode()
}

func TestServeSelects(t *testing.T) {
	s := fixture(t)
	for _, tc := range []struct {
		name  string
		query string
		hdr   http.Header
		code  int
		want  []string
	}{
		{"no match is empty like Prometheus", "", nil, 200, nil},
		{"by name", q(`temp_celsius`), nil, 200, []string{"acme/temp_celsius/", "globex/temp_celsius/"}},
		{"regex", q(`{__name__=~"lat_seconds_(sum|count)"}`), nil, 200,
			[]string{"acme/lat_seconds_count/", "acme/lat_seconds_sum/", "globex/lat_seconds_count/", "globex/lat_seconds_sum/"}},
		{"several match[] are or-ed", q(`temp_celsius{tenant="acme"}`, `http_requests_total{tenant="globex"}`), nil, 200,
			[]string{"acme/temp_celsius/", "globex/http_requests_total/"}},
		{"overlapping match[] once each", q(`temp_celsius`, `{tenant="acme",__name__="temp_celsius"}`), nil, 200,
			[]string{"acme/temp_celsius/", "globex/temp_celsius/"}},
		{"tenant parameter", q(`{job="node"}`) + "&tenant=globex", nil, 200,
			[]string{"globex/http_requests_total/", "globex/lat_seconds_bucket/+Inf", "globex/lat_seconds_bucket/0.5",
				"globex/lat_seconds_count/", "globex/lat_seconds_sum/", "globex/temp_celsius/"}},
		{"tenant header", q(`temp_celsius`), http.Header{"X-Scope-Orgid": {"acme"}}, 200, []string{"acme/temp_celsius/"}},
		{"tenant header and parameter agree", q(`temp_celsius`) + "&tenant=acme", http.Header{"X-Scope-Orgid": {"acme"}}, 200, []string{"acme/temp_celsius/"}},
		{"tenant header and parameter differ", q(`temp_celsius`) + "&tenant=acme", http.Header{"X-Scope-Orgid": {"globex"}}, 400, nil},
		{"label cannot cross tenants", q(`{tenant="globex"}`) + "&tenant=acme", nil, 200, nil},
		{"unknown tenant", q(`temp_celsius`) + "&tenant=nobody", nil, 200, nil},
		{"bad selector", q(`{job=`), nil, 400, nil},
		{"not a selector", q(`sum(up)`), nil, 400, nil},
		{"gzip", q(`temp_celsius`), http.Header{"Accept-Encoding": {"gzip"}}, 200, []string{"acme/temp_celsius/", "globex/temp_celsius/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, s, tc.query, tc.hdr)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %s", r.code, tc.code, r.body)
			}
			if !slices.Equal(r.series, tc.want) {
				t.Fatalf("series %q, want %q\n%s", r.series, tc.want, r.body)
			}
		})
	}
}

func TestServeOutput(t *testing.T) {
	s := fixture(t)
	r := get(t, s, q(`{tenant="acme",__name__=~"http.*|lat.*"}`), nil)
	want := `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",instance="h:9100",job="node",site="s1",tenant="acme"} 7 2000
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{instance="h:9100",job="node",le="+Inf",site="s1",tenant="acme"} 3 2000
lat_seconds_bucket{instance="h:9100",job="node",le="0.5",site="s1",tenant="acme"} 2 2000
lat_seconds_count{instance="h:9100",job="node",site="s1",tenant="acme"} 3 2000
lat_seconds_sum{instance="h:9100",job="node",site="s1",tenant="acme"} 0.75 2000
`
	if r.body != want {
		t.Fatalf("got:\n%s\nwant:\n%s", r.body, want)
	}
}

func TestServeDropsExpired(t *testing.T) {
	c := newClock()
	s := testStore(c)
	s.Update("acme", batch(lbls("acme", "old"), relay.Sample{T: 1, V: 1}))
	c.add(4 * time.Minute)
	s.Update("acme", batch(lbls("acme", "new"), relay.Sample{T: 2, V: 2}))
	c.add(2 * time.Minute)
	r := get(t, s, q(`{job="node"}`), nil)
	if !slices.Equal(r.series, []string{"acme/new/"}) {
		t.Fatalf("series %q, want only acme/new", r.series)
	}
}

func TestServeNameEscaping(t *testing.T) {
	s := testStore(newClock())
	s.Update("acme", batch(labels.FromStrings("__name__", "temp.celsius", "room.id", "7", "tenant", "acme"), relay.Sample{T: 5, V: 1}))
	for _, tc := range []struct {
		name, accept, want string
	}{
		{"legacy scraper", "text/plain;version=0.0.4", "temp_celsius{room_id=\"7\",tenant=\"acme\"} 1 5\n"},
		{"utf-8 scraper", "text/plain;version=1.0.0;escaping=allow-utf-8", "{\"temp.celsius\",\"room.id\"=\"7\",tenant=\"acme\"} 1 5\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, s, q(`{tenant="acme"}`), http.Header{"Accept": {tc.accept}})
			if r.body != tc.want {
				t.Fatalf("got %q, want %q", r.body, tc.want)
			}
		})
	}
}
