package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay"
)

// RemoteWriteConfig configures NewRemoteWriteHandler. Zero values mean the
// defaults given per field.
type RemoteWriteConfig struct {
	// MaxBodyBytes bounds both the compressed body and its decoded size;
	// larger requests get 413. Zero means 32 MiB.
	MaxBodyBytes int64
	// Logger; nil discards logs.
	Logger *slog.Logger
	// Registerer for the handler's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock stamping Batch.Timestamp; nil means time.Now.
	Now func() time.Time
	// ReuseBatches promises, as ScrapeConfig.ReuseBatches does, that the
	// sink keeps no reference to a batch's Series slice, or to the Samples
	// of its series, once Submit has returned nil: the handler then decodes
	// later requests into the same memory. (Label sets, histograms,
	// exemplars and Metadata are never reused.)
	ReuseBatches bool
}

// DefaultMaxBodyBytes is the body limit when RemoteWriteConfig.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 32 << 20

// retryAfterSeconds is the Retry-After answered with 503 when the queue is full.
const retryAfterSeconds = 5

// Remote-write headers, as Prometheus' receiver answers them to 2.0 senders.
const (
	hdrSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	hdrHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	hdrExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

type remoteWriteHandler struct {
	sink     Sink
	maxBytes int64
	log      *slog.Logger
	now      func() time.Time

	ingested prometheus.Counter
	requests *prometheus.CounterVec
	rejected *prometheus.CounterVec

	bufs sync.Pool // *bytes.Buffer for compressed bodies
	raw  sync.Pool // *[]byte for decoded bodies
	// batches holds *batchBufs for remote_write 1.0 requests when the sink
	// allows their reuse (ReuseBatches); nil otherwise.
	batches *sync.Pool
}

// NewRemoteWriteHandler returns the handler of POST /api/v1/write. It
// answers 204 only once sink.Submit has returned nil for the request's
// batch; 400 for bodies that are not snappy, not protobuf or carry invalid
// labels; 413 past the size limit; 415 for encodings and message types it
// does not know; 503 with Retry-After when the queue is full; 500 otherwise.
// Several handlers may share a Registerer (they then share counters); it
// panics (BUG) only if another collector conflicts with its metric names.
//
// A request is one Batch; a series repeated within a request stays repeated.
// Native histogram samples (integer and float) and exemplars are carried
// exactly beside float samples; a 2.0 sender is told what was written in
// X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written (0 for
// each on a refused request).
func NewRemoteWriteHandler(sink Sink, cfg RemoteWriteConfig) http.Handler {
	h := &remoteWriteHandler{sink: sink, maxBytes: cfg.MaxBodyBytes, log: cfg.Logger, now: cfg.Now}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.ingested = mustCounterVec(cfg.Registerer, ingestedSamplesOpts, "source").WithLabelValues(sourceRemoteWrite)
	h.requests = mustCounterVec(cfg.Registerer, prometheus.CounterOpts{
		Name: "edgerelay_remote_write_requests_total",
		Help: "remote_write requests answered, by HTTP status code.",
	}, "code")
	h.rejected = mustCounterVec(cfg.Registerer, prometheus.CounterOpts{
		Name: "edgerelay_remote_write_rejected_total",
		Help: "remote_write requests not taken, by reason.",
	}, "reason")
	h.bufs.New = func() any { return new(bytes.Buffer) }
	h.raw.New = func() any { return new([]byte) }
	if cfg.ReuseBatches {
		h.batches = &sync.Pool{New: func() any { return new(batchBufs) }}
	}
	return h
}

// mustCounterVec registers a counter, sharing one already registered under
// the same description; it panics only if another collector conflicts.
func mustCounterVec(reg prometheus.Registerer, opts prometheus.CounterOpts, labelNames ...string) *prometheus.CounterVec {
	cv, err := registerCounterVec(reg, opts, labelNames...)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return cv
}

func (h *remoteWriteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, "method", "only POST is allowed")
		return
	}
	version, err := parseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		h.fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error())
		return
	}
	if version == rwV2 {
		// Answer what was written even on failure, as Prometheus' receiver does.
		setWritten(w, 0, decodeStats{})
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "snappy") {
		h.fail(w, http.StatusUnsupportedMediaType, "unsupported_encoding",
			fmt.Sprintf("Content-Encoding %q is not accepted; only snappy is", enc))
		return
	}
	if r.ContentLength > h.maxBytes {
		h.fail(w, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("body of %d bytes exceeds the %d bytes limit", r.ContentLength, h.maxBytes))
		return
	}

	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.putBuf(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, h.maxBytes+1)); err != nil {
		h.fail(w, http.StatusBadRequest, "read_error", "read body: "+err.Error())
		return
	}
	if int64(buf.Len()) > h.maxBytes {
		h.fail(w, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("body exceeds the %d bytes limit", h.maxBytes))
		return
	}
	rawp := h.raw.Get().(*[]byte)
	defer h.putRaw(rawp)
	raw, code, reason, err := decompress(buf.Bytes(), *rawp, h.maxBytes)
	if err != nil {
		h.fail(w, code, reason, err.Error())
		return
	}
	*rawp = raw

	var reuse *batchBufs
	if h.batches != nil && version == rwV1 {
		reuse = h.batches.Get().(*batchBufs)
	}
	batch, stats, err := decodeRemoteWrite(raw, version, received.UnixMilli(), reuse)
	if err != nil {
		var bre *badRequestError
		if errors.As(err, &bre) {
			h.fail(w, http.StatusBadRequest, bre.reason, bre.msg)
			return
		}
		h.fail(w, http.StatusInternalServerError, "internal", err.Error())
		return
	}
	if h.submit(r.Context(), w, batch, stats, version) && reuse != nil {
		reuse.put(h.batches, batch)
	}
}

// submit hands batch to the sink and answers; it reports whether the sink
// took it (or there was nothing to take).
func (h *remoteWriteHandler) submit(ctx context.Context, w http.ResponseWriter, batch *relay.Batch, stats decodeStats, version rwVersion) bool {
	samples := batch.Samples() // float and histogram samples
	// A request of metadata only (remote_write 1.0 sends those) is kept too.
	if samples > 0 || stats.exemplars > 0 || len(batch.Metadata) > 0 {
		if err := h.sink.Submit(ctx, batch); err != nil {
			if errors.Is(err, relay.ErrQueueFull) {
				w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
				h.fail(w, http.StatusServiceUnavailable, "queue_full", "queue cannot take the request now: "+err.Error())
				return false
			}
			h.log.Error("remote_write submit failed", "err", err, "samples", samples)
			h.fail(w, http.StatusInternalServerError, "submit_failed", "store the request: "+err.Error())
			return false
		}
		h.ingested.Add(float64(samples))
	}
	if version == rwV2 {
		setWritten(w, samples-stats.histograms, stats)
	}
	h.requests.WithLabelValues(strconv.Itoa(http.StatusNoContent)).Inc()
	w.WriteHeader(http.StatusNoContent)
	return true
}

// fail answers code with a one-line reason and counts it.
func (h *remoteWriteHandler) fail(w http.ResponseWriter, code int, reason, msg string) {
	h.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	h.rejected.WithLabelValues(reason).Inc()
	if code >= 500 {
		h.log.Warn("remote_write request not taken", "code", code, "reason", reason, "err", msg)
	} else {
		h.log.Debug("remote_write request rejected", "code", code, "reason", reason, "err", msg)
	}
	http.Error(w, strings.ReplaceAll(msg, "\n", " "), code)
}

func (h *remoteWriteHandler) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 {
		h.bufs.Put(b)
	}
}

func (h *remoteWriteHandler) putRaw(p *[]byte) {
	if cap(*p) <= 16<<20 {
		h.raw.Put(p)
	}
}

func setWritten(w http.ResponseWriter, samples int, stats decodeStats) {
	w.Header().Set(hdrSamplesWritten, strconv.Itoa(samples))
	w.Header().Set(hdrHistogramsWritten, strconv.Itoa(stats.histograms))
	w.Header().Set(hdrExemplarsWritten, strconv.Itoa(stats.exemplars))
}

// decompress snappy-decodes body into dst (reused when large enough),
// refusing decoded sizes above limit. On error it returns the HTTP status and
// the rejection reason.
func decompress(body, dst []byte, limit int64) ([]byte, int, string, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, http.StatusBadRequest, "bad_snappy", fmt.Errorf("body is not snappy block format: %w", err)
	}
	if int64(n) > limit {
		return nil, http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("decoded body of %d bytes exceeds the %d bytes limit", n, limit)
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	out, err := snappy.Decode(dst[:cap(dst)], body)
	if err != nil {
		return nil, http.StatusBadRequest, "bad_snappy", fmt.Errorf("body is not snappy block format: %w", err)
	}
	return out, 0, "", nil
}

// parseContentType tells the remote_write message from the Content-Type:
// empty or application/x-protobuf without proto= is 1.0.
func parseContentType(ct string) (rwVersion, error) {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return rwV1, nil
	}
	parts := strings.Split(ct, ";")
	if media := strings.TrimSpace(parts[0]); !strings.EqualFold(media, "application/x-protobuf") {
		return 0, fmt.Errorf("content type %q is not accepted; expected application/x-protobuf", ct)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return 0, fmt.Errorf("content type %q has a malformed parameter %q", ct, p)
		}
		if strings.TrimSpace(k) != "proto" {
			continue
		}
		switch strings.Trim(strings.TrimSpace(v), `"`) {
		case "prometheus.WriteRequest":
			return rwV1, nil
		case "io.prometheus.write.v2.Request":
			return rwV2, nil
		default:
			return 0, fmt.Errorf("protobuf message %q is not accepted; only prometheus.WriteRequest and io.prometheus.write.v2.Request are", v)
		}
	}
	return rwV1, nil
}
