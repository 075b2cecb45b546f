// Package rwout forwards what the cloud receives to remote_write endpoints
// (Mimir, Thanos Receive, VictoriaMetrics, Prometheus), configured in
// Prometheus' remote_write syntax: url, headers, HTTP client and TLS
// settings, write_relabel_configs, remote_timeout and
// queue_config.max_samples_per_send and metadata_config.
//
// Metadata (HELP, TYPE, UNIT of each metric family) rides in the requests
// that carry the family's samples: a family's metadata goes out when it is
// first seen or changes, and every family's again each
// metadata_config.send_interval (default 1m), so a receiver that lost it
// relearns it; metadata_config.send: false sends none. Native histograms
// and exemplars go out when send_native_histograms and send_exemplars ask
// (native.go).
//
// Send blocks until the endpoint accepted every sample, a non-retryable
// answer (4xx other than 429) made it drop them (counted and logged), or
// the retry budget ran out; the cloud acknowledges a block to its edge only
// after Send returned nil, so an unreachable endpoint holds the backlog on
// the edge instead of losing it. Samples keep their original timestamps.
// A Forwarder is safe for concurrent use.
package rwout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// Forwarder sends batches to one remote_write endpoint.
type Forwarder struct {
	name       string
	url        string
	client     *http.Client
	headers    map[string]string
	timeout    time.Duration
	maxSamples int
	relabel    []*relabel.Config
	retryFor   time.Duration
	log        *slog.Logger
	meta       *metadataSender // nil: metadata_config.send is false
	maxMeta    int             // metadata entries per request

	sent, dropped, failed prometheus.Counter
	requests              *prometheus.CounterVec

	sendHistograms, sendExemplars bool // send_native_histograms, send_exemplars
	nm                            nativeMetrics
	warned                        atomic.Bool // withheld histograms or exemplars logged
}

// Options tune a Forwarder beyond the remote_write config.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// RetryFor bounds how long Send retries before it gives up; zero means 30s.
	RetryFor time.Duration
}

// New builds a forwarder for cfg.
func New(cfg *promconfig.RemoteWriteConfig, o Options) (*Forwarder, error) {
	name := cfg.Name
	if name == "" {
		name = cfg.URL.String()
	}
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "edgerelay_remote_write")
	if err != nil {
		return nil, fmt.Errorf("remote_write %s: %w", name, err)
	}
	f := &Forwarder{
		name: name, url: cfg.URL.String(), client: client, headers: cfg.Headers,
		timeout: time.Duration(cfg.RemoteTimeout), maxSamples: cfg.QueueConfig.MaxSamplesPerSend,
		relabel: cfg.WriteRelabelConfigs, retryFor: o.RetryFor, log: o.Logger,
		sendHistograms: cfg.SendNativeHistograms, sendExemplars: cfg.SendExemplars,
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if mc := cfg.MetadataConfig; mc.Send {
		interval := time.Duration(mc.SendInterval)
		if interval <= 0 {
			interval = time.Duration(promconfig.DefaultMetadataConfig.SendInterval)
		}
		f.meta = newMetadataSender(interval)
		f.maxMeta = mc.MaxSamplesPerSend
		if f.maxMeta <= 0 {
			f.maxMeta = promconfig.DefaultMetadataConfig.MaxSamplesPerSend
		}
	}
	if f.timeout <= 0 {
		f.timeout = 30 * time.Second
	}
	if f.maxSamples <= 0 {
		f.maxSamples = 2000
	}
	if f.retryFor <= 0 {
		f.retryFor = 30 * time.Second
	}
	cl := prometheus.Labels{"remote": name}
	f.sent = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgerelay_remote_write_sent_samples_total",
		Help: "Samples accepted by the remote_write endpoint.", ConstLabels: cl})
	f.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgerelay_remote_write_dropped_samples_total",
		Help: "Samples the remote_write endpoint refused for good (4xx other than 429).", ConstLabels: cl})
	f.failed = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgerelay_remote_write_failed_sends_total",
		Help: "Sends given up after the retry budget; the edge resends the block.", ConstLabels: cl})
	f.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgerelay_remote_write_requests_total",
		Help: "Requests to the remote_write endpoint by HTTP status code.", ConstLabels: cl}, []string{"code"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(f.sent, f.dropped, f.failed, f.requests)
	}
	f.nm = newNativeMetrics(o.Registerer, cl)
	return f, nil
}

// Forwarder is one of the cloud's remote_write outputs.
var _ output.Output = (*Forwarder)(nil)

// Name is "remote_write " and the endpoint's name (or URL).
func (f *Forwarder) Name() string { return "remote_write " + f.name }

// Deliver sends every batch of d (Send), in order; it returns once the
// endpoint took all of them. A block delivered again is sent again.
func (f *Forwarder) Deliver(ctx context.Context, d *output.Delivery) error {
	for _, b := range d.Batches {
		if err := f.Send(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// Run has no background work to do: Deliver sends inline. It returns when
// ctx ends.
func (f *Forwarder) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Send forwards every sample of b, in requests of at most
// max_samples_per_send samples, with the metadata due (see the package doc).
func (f *Forwarder) Send(ctx context.Context, b *relay.Batch) (err error) {
	req := &prompb.WriteRequest{}
	n, native := 0, 0 // float samples; histogram samples and exemplars
	var meta []prompb.MetricMetadata
	if f.meta != nil {
		meta = f.meta.take(b)
		defer func() {
			if err != nil {
				f.meta.forget(meta)
			}
		}()
	}
	pending := meta // metadata not yet in a request
	lb := labels.NewBuilder(labels.EmptyLabels())
	flush := func() error {
		if n+native == 0 && len(pending) == 0 {
			return nil
		}
		k := min(len(pending), f.maxMeta)
		req.Metadata, pending = pending[:k], pending[k:]
		err := f.send(ctx, req, n)
		req.Timeseries, req.Metadata, n, native = req.Timeseries[:0], nil, 0, 0
		return err
	}
	for _, s := range b.Series {
		ls := s.Labels
		if len(f.relabel) > 0 {
			lb.Reset(ls)
			if !relabel.ProcessBuilder(lb, f.relabel...) {
				continue
			}
			ls = lb.Labels()
		}
		ts := prompb.TimeSeries{Labels: make([]prompb.Label, 0, ls.Len())}
		ls.Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
		for _, smp := range s.Samples {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: smp.T, Value: smp.V})
		}
		k := f.appendNative(&ts, &s, b.Timestamp)
		if len(ts.Samples)+k == 0 {
			continue
		}
		req.Timeseries = append(req.Timeseries, ts)
		n += len(s.Samples)
		native += k
		if n+native >= f.maxSamples {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for {
		if err := flush(); err != nil || len(pending) == 0 {
			return err
		}
	}
}

// permanentError is an answer that retrying cannot change.
type permanentError struct{ code int }

func (e permanentError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

func (f *Forwarder) send(ctx context.Context, req *prompb.WriteRequest, samples int) error {
	raw, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("BUG: marshal remote_write request: %w", err)
	}
	body := snappy.Encode(nil, raw)
	hists, exemplars := countNative(req)
	deadline := time.Now().Add(f.retryFor)
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f.post(ctx, body)
		var perm permanentError
		switch {
		case err == nil:
			f.sent.Add(float64(samples))
			f.nm.sentH.Add(float64(hists))
			f.nm.sentE.Add(float64(exemplars))
			return nil
		case errors.As(err, &perm):
			f.dropped.Add(float64(samples))
			f.nm.droppedH.Add(float64(hists))
			f.nm.droppedE.Add(float64(exemplars))
			f.log.Error("remote_write endpoint refused samples; dropped", "remote", f.name, "samples", samples,
				"histograms", hists, "exemplars", exemplars, "err", err)
			return nil
		case time.Now().Add(backoff).After(deadline):
			f.failed.Inc()
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		f.log.Warn("remote_write failed; retrying", "remote", f.name, "attempt", attempt, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (f *Forwarder) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range f.headers {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Encoding", "snappy")
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("User-Agent", "edgerelay")
	hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := f.client.Do(hr)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	f.requests.WithLabelValues(fmt.Sprint(resp.StatusCode)).Inc()
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s", permanentError{resp.StatusCode}, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
}
