package ingest

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
	"github.com/edgerelay/edgerelay/relay/sd"
)

var (
	errLoopBodySize = errors.New("body size limit exceeded")
	errLoopZstd     = errors.New("received a zstd-compressed response, which edgerelay does not ask for")
)

// fetcher GETs one target's metrics as Prometheus' scraper does: the
// same Accept header (the job's scrape_protocols, in order, with its
// escaping scheme), gzip asked for when enable_compression is on,
// body_size_limit enforced on the decompressed body. Its buffers are
// reused scrape after scrape; not safe for concurrent use.
type fetcher struct {
	client *http.Client
	req    *http.Request
	limit  int64
	m      *loopMetrics

	body     bodyBuf
	lastSize int
	br       *bufio.Reader
	gz       *gzip.Reader
}

func newFetcher(t *Target, client *http.Client, cfg *scrapeconf.ScrapeConfig, timeout time.Duration, m *loopMetrics) *fetcher {
	f := &fetcher{client: client, limit: int64(cfg.BodySizeLimit), m: m}
	if f.limit <= 0 {
		f.limit = math.MaxInt64
	}
	req, err := http.NewRequest(http.MethodGet, t.URL().String(), http.NoBody)
	if err != nil {
		return f // get reports it
	}
	req.Header.Add("Accept", acceptHeader(cfg))
	enc := "identity"
	if cfg.EnableCompression {
		enc = "gzip"
	}
	req.Header.Add("Accept-Encoding", enc)
	req.Header.Set("User-Agent", sd.UserAgent)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	f.req = req
	return f
}

// acceptHeader lists the job's scrape protocols by falling weight, then
// anything at all, as RFC 9110 writes preferences.
func acceptHeader(cfg *scrapeconf.ScrapeConfig) string {
	scheme, _ := scrapeconf.ToEscapingScheme(cfg.MetricNameEscapingScheme, cfg.MetricNameValidationScheme)
	vals := make([]string, 0, len(cfg.ScrapeProtocols)+1)
	weight := len(scrapeconf.ScrapeProtocolsHeaders) + 1
	for _, sp := range cfg.ScrapeProtocols {
		val := scrapeconf.ScrapeProtocolsHeaders[sp]
		if sp == scrapeconf.PrometheusText1_0_0 || sp == scrapeconf.OpenMetricsText1_0_0 {
			val += ";escaping=" + scheme.String()
		}
		vals = append(vals, fmt.Sprintf("%s;q=0.%d", val, weight))
		weight--
	}
	vals = append(vals, fmt.Sprintf("*/*;q=0.%d", weight))
	return strings.Join(vals, ",")
}

// get scrapes once and returns the body (valid until the next get) and
// its Content-Type.
func (f *fetcher) get(ctx context.Context) ([]byte, string, error) {
	if f.req == nil {
		return nil, "", errors.New("invalid target URL")
	}
	resp, err := f.client.Do(f.req.WithContext(ctx))
	if err != nil {
		return nil, "", err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	var r io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		if f.gz == nil {
			f.br = bufio.NewReader(resp.Body)
			if f.gz, err = gzip.NewReader(f.br); err != nil {
				f.gz = nil
				return nil, "", err
			}
		} else {
			f.br.Reset(resp.Body)
			if err := f.gz.Reset(f.br); err != nil {
				return nil, "", err
			}
		}
		defer f.gz.Close()
		r = f.gz
	case "zstd":
		return nil, "", errLoopZstd
	}
	body, err := f.read(io.LimitReader(r, f.limit))
	if err != nil {
		return nil, "", err
	}
	if int64(len(body)) >= f.limit {
		f.m.bodySize.Inc()
		return nil, "", errLoopBodySize
	}
	if len(body) > 0 {
		f.lastSize = len(body)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// read reads r into the fetcher's buffer (bodyBuf), which starts at the
// last body's size and grows by a quarter at a time.
func (f *fetcher) read(r io.Reader) ([]byte, error) {
	b := f.body.buf(0, f.lastSize+512)
	for {
		if len(b) == cap(b) {
			b = f.body.buf(len(b), cap(b)+max(cap(b)/4, 4096))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// release gives the body's memory back between scrapes: the body get
// returned last must no longer be used.
func (f *fetcher) release() { f.body.release() }

// free unmaps the body's memory, for a loop that has stopped.
func (f *fetcher) free() { f.body.free() }
