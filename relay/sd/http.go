package sd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// httpURLLabel is the meta label of an HTTP-discovered target's URL.
const httpURLLabel = model.MetaLabelPrefix + "url"

// httpContentType is what an http_sd answer must be, as in Prometheus.
var httpContentType = regexp.MustCompile(`^(?i:application\/json(;\s*charset=("utf-8"|utf-8))?)$`)

// UserAgent is what HTTP discovery and scrapes send, as Prometheus'
// (Prometheus/ and the version of prometheus/common's version package).
var UserAgent = version.PrometheusUserAgent()

// NewProvider implements Config: a provider that GETs the URL every
// refresh_interval (which is also the request's timeout), as Prometheus'
// http_sd does.
func (c *HTTPConfig) NewProvider(opts ProviderOptions) (Provider, error) {
	client, err := commoncfg.NewClientFromConfig(c.HTTPClientConfig, "http")
	if err != nil {
		return nil, err
	}
	client.Timeout = time.Duration(c.RefreshInterval)
	d := &httpDiscovery{url: c.URL, client: client, interval: time.Duration(c.RefreshInterval), m: opts.Metrics.or()}
	return &refresher{mech: "http", job: opts.Job, interval: d.interval, log: opts.logger(), m: d.m, refresh: d.refresh}, nil
}

type httpDiscovery struct {
	url      string
	client   *http.Client
	interval time.Duration
	m        *Metrics
	lastLen  int // groups in the last answer
}

// refresh asks the URL once. Any failure is counted in
// prometheus_sd_http_failures_total and keeps the last groups; groups the
// last answer had and this one has not are sent empty, so their targets
// go.
func (d *httpDiscovery) refresh(ctx context.Context) ([]*targetgroup.Group, error) {
	tgs, err := d.fetch(ctx)
	if err != nil {
		d.m.httpFailures.Inc()
		return nil, err
	}
	n := len(tgs)
	for i := n; i < d.lastLen; i++ {
		tgs = append(tgs, &targetgroup.Group{Source: httpSource(d.url, i)})
	}
	d.lastLen = n
	return tgs, nil
}

func (d *httpDiscovery) fetch(ctx context.Context) ([]*targetgroup.Group, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Prometheus-Refresh-Interval-Seconds", strconv.FormatFloat(d.interval.Seconds(), 'f', -1, 64))
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !httpContentType.MatchString(strings.TrimSpace(ct)) {
		return nil, fmt.Errorf("unsupported content type %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return DecodeHTTPGroups(b, d.url)
}

// DecodeHTTPGroups decodes an http_sd answer from url: a JSON list of
// target groups, each given Source url:index and the __meta_url label.
func DecodeHTTPGroups(b []byte, url string) ([]*targetgroup.Group, error) {
	var tgs []*targetgroup.Group
	if err := json.Unmarshal(b, &tgs); err != nil {
		return nil, err
	}
	return stamp(tgs, url, httpURLLabel)
}

func httpSource(url string, i int) string { return sourceOf(url, i) }
