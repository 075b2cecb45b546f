package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/version"
)

// webhook POSTs {"notices": [...]} to the configured URL. 2xx delivers;
// 408, 425, 429, 5xx and errors are retried (a Retry-After in seconds or
// as a date is honoured, up to max_backoff); any other status refuses the
// notices for good.
type webhook struct {
	cfg    config.Webhook
	client *http.Client
}

func newWebhook(cfg config.Webhook) *webhook {
	return &webhook{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}
}

func (w *webhook) name() string { return "webhook" }
func (w *webhook) batch() int   { return max(1, w.cfg.MaxNotices) }

// body is what a webhook receives.
type body struct {
	Notices []Notice `json:"notices"`
}

func (w *webhook) send(ctx context.Context, notices []Notice) error {
	b, err := json.Marshal(body{Notices: notices})
	if err != nil {
		return &refused{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(b))
	if err != nil {
		return &refused{err}
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "edgerelay/"+version.Version)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	code := resp.StatusCode
	if code/100 == 2 {
		return nil
	}
	err = fmt.Errorf("webhook answered %s: %q", resp.Status, bytes.TrimSpace(msg))
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &retryAfter{err: err, after: d}
		}
		return err
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code/100 == 5:
		return err
	}
	return &refused{err}
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
