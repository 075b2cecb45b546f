package rwout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/golang/snappy"
)

// outcome is what became of a request.
type outcome int

const (
	sent     outcome = iota // the endpoint took it
	dropped                 // refused for good or too old: counted and logged
	canceled                // Run ended first: its items stay queued
)

// httpError is a non-2xx answer.
type httpError struct {
	code       int
	retryAfter time.Duration // from Retry-After; 0 when absent or past
	msg        string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.msg) }

// dropReason says whether the answer is for good, as Prometheus decides: a
// 5xx is retried; a 429 is retried unless retry_on_http_429 is false; any
// other 4xx drops. It returns "" for an answer to retry.
func (e *httpError) dropReason(retry429 bool) string {
	switch {
	case e.code == http.StatusTooManyRequests && !retry429:
		return reasonRateLimited
	case e.code == http.StatusTooManyRequests, e.code/100 == 5:
		return ""
	case e.code/100 == 4:
		return reasonRefused
	}
	return "" // 1xx, 3xx not followed: retried like a 5xx
}

// sendRequest posts p until the endpoint takes it, refuses it for good,
// its samples pass sample_age_limit, or ctx ends.
func (s *shard) sendRequest(ctx context.Context, p *pending) outcome {
	f := s.d.f
	s.snap = snappy.Encode(s.snap[:cap(s.snap)], p.buf)
	backoff := f.q.minBackoff
	for attempt := 1; ; attempt++ {
		if f.q.ageLimit > 0 && p.newest != math.MinInt64 && p.newest < time.Now().Add(-f.q.ageLimit).UnixMilli() {
			f.countDrop(reasonTooOld, p.samples, p.hists, p.exemplars)
			f.log.Warn("remote_write: samples passed sample_age_limit while retrying; dropped", "samples", p.samples, "attempts", attempt-1)
			return dropped
		}
		err := f.post(ctx, p.tenant, s.snap)
		if err == nil {
			f.m.sent.Add(float64(p.samples))
			f.m.nm.sentH.Add(float64(p.hists))
			f.m.nm.sentE.Add(float64(p.exemplars))
			return sent
		}
		if ctx.Err() != nil {
			return canceled
		}
		f.m.failed.Inc()
		var he *httpError
		if errors.As(err, &he) {
			if reason := he.dropReason(f.q.retry429); reason != "" {
				f.countDrop(reason, p.samples, p.hists, p.exemplars)
				f.log.Error("remote_write endpoint refused samples; dropped", "reason", reason, "samples", p.samples,
					"histograms", p.hists, "exemplars", p.exemplars, "metadata", p.metas, "err", err)
				return dropped
			}
		}
		f.lastErr.set(time.Now())
		f.m.retried.Add(float64(p.count))
		wait := backoff
		if he != nil && he.retryAfter > 0 {
			wait = he.retryAfter
		}
		if attempt == 1 || attempt%10 == 0 {
			f.log.Warn("remote_write failed; retrying", "attempt", attempt, "wait", wait, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return canceled
		}
		backoff = min(2*backoff, f.q.maxBackoff)
	}
}

// post sends one request body for tenant.
func (f *Forwarder) post(ctx context.Context, tenant string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range f.headers {
		hr.Header.Set(k, v)
	}
	if f.tenantH != "" {
		hr.Header.Set(f.tenantH, tenant)
	}
	hr.Header.Set("Content-Encoding", "snappy")
	hr.Header.Set("Content-Type", "application/x-protobuf")
	hr.Header.Set("User-Agent", "edgerelay")
	hr.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := f.client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f.m.requests.WithLabelValues(strconv.Itoa(resp.StatusCode)).Inc()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &httpError{code: resp.StatusCode, retryAfter: retryAfter(resp.Header.Get("Retry-After")), msg: string(bytes.TrimSpace(msg))}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date. Absent,
// malformed or past: 0.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(n)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
