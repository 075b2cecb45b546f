package sd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// sdServer answers http_sd requests with whatever the test set last.
type sdServer struct {
	mu          sync.Mutex
	status      int
	contentType string
	body        string
	req         *http.Request
}

func (s *sdServer) set(status int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.contentType, s.body = status, contentType, body
}

func (s *sdServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.req = r
	w.Header().Set("Content-Type", s.contentType)
	w.WriteHeader(s.status)
	_, _ = w.Write([]byte(s.body))
}

func TestHTTPSDAgainstServer(t *testing.T) {
	srv := &sdServer{}
	ts := httptest.NewServer(srv) // 127.0.0.1
	defer ts.Close()
	url := ts.URL + "/sd"
	var cfg HTTPConfig
	if err := yaml.UnmarshalStrict([]byte("url: "+url+"\nrefresh_interval: 15s\nbasic_auth: {username: u, password: p}"), &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.NewProvider(ProviderOptions{Metrics: m, Job: "node"})
	if err != nil {
		t.Fatal(err)
	}
	r := p.(*refresher)
	ctx := context.Background()

	srv.set(200, "application/json; charset=utf-8", `[{"targets":["h1:9100"],"labels":{"rack":"r1"}},{"targets":["h2:9100","h3:9100"]}]`)
	tgs, ok := r.once(ctx)
	want := []*targetgroup.Group{
		{Source: url + ":0", Targets: []model.LabelSet{{"__address__": "h1:9100"}}, Labels: model.LabelSet{"rack": "r1", "__meta_url": model.LabelValue(url)}},
		{Source: url + ":1", Targets: []model.LabelSet{{"__address__": "h2:9100"}, {"__address__": "h3:9100"}}, Labels: model.LabelSet{"__meta_url": model.LabelValue(url)}},
	}
	if !ok || !reflect.DeepEqual(tgs, want) {
		t.Fatalf("first refresh: %v %v\nwant %v", ok, tgs, want)
	}
	h := srv.req.Header
	if h.Get("Accept") != "application/json" || h.Get("X-Prometheus-Refresh-Interval-Seconds") != "15" || h.Get("User-Agent") != UserAgent {
		t.Errorf("request headers: %v", h)
	}
	if u, pw, _ := srv.req.BasicAuth(); u != "u" || pw != "p" {
		t.Errorf("basic auth %q %q", u, pw)
	}

	// Failures send nothing (the last groups stay) and are counted.
	for _, bad := range []struct {
		status   int
		ct, body string
	}{
		{500, "application/json", "[]"},
		{200, "text/plain", "[]"},
		{200, "application/json", "[{"},
		{200, "application/json", "[null]"},
		{200, "application/json", `[{"targets":[1]}]`},
	} {
		srv.set(bad.status, bad.ct, bad.body)
		if tgs, ok := r.once(ctx); ok {
			t.Errorf("%+v: refresh gave %v", bad, tgs)
		}
	}
	if f := testutil.ToFloat64(m.httpFailures); f != 5 {
		t.Errorf("prometheus_sd_http_failures_total = %v, want 5", f)
	}
	if f := testutil.ToFloat64(m.refreshFailures.WithLabelValues("http", "node")); f != 5 {
		t.Errorf("prometheus_sd_refresh_failures_total = %v, want 5", f)
	}

	// A group fewer than the last good answer: it comes empty.
	srv.set(200, "application/json", `[{"targets":["h4:9100"]}]`)
	tgs, ok = r.once(ctx)
	want = []*targetgroup.Group{
		{Source: url + ":0", Targets: []model.LabelSet{{"__address__": "h4:9100"}}, Labels: model.LabelSet{"__meta_url": model.LabelValue(url)}},
		{Source: url + ":1"},
	}
	if !ok || !reflect.DeepEqual(tgs, want) {
		t.Fatalf("shrunk: %v %v\nwant %v", ok, tgs, want)
	}
}

func TestHTTPConfigRefusals(t *testing.T) {
	for cfg, want := range map[string]string{
		"refresh_interval: 1m": "URL is missing",
		"url: ftp://x/sd":      "URL scheme must be 'http' or 'https'",
		"url: http:///sd":      "host is missing in URL",
		"{url: 'http://x/sd', bearer_token: a, bearer_token_file: b}": "at most one of bearer_token & bearer_token_file must be configured",
		"{url: 'http://x/sd', names: [a]}":                            "field names not found",
	} {
		var c HTTPConfig
		if err := yaml.UnmarshalStrict([]byte(cfg), &c); err == nil || !contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", cfg, err, want)
		}
	}
	var c HTTPConfig
	if err := yaml.UnmarshalStrict([]byte("url: http://x/sd"), &c); err != nil || c.RefreshInterval != DefaultHTTPConfig.RefreshInterval || !c.HTTPClientConfig.FollowRedirects {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}
