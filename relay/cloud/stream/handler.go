package stream

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/cloud/federate"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// ContentType is the media type of a stream.
const ContentType = "application/x-ndjson; charset=utf-8"

// request is what a stream request asks for.
type request struct {
	tenant string // "" : every tenant's series
	sets   [][]*labels.Matcher
}

// parse reads a stream request whose form is parsed: at least one match[]
// selector (Prometheus syntax), and the tenant parameter or X-Scope-OrgID
// header within allowed, as /federate takes them (federate.Scope). A
// refusal comes with its HTTP status code.
func (h *Hub) parse(r *http.Request, allowed string) (request, int, error) {
	sel := r.Form["match[]"]
	if len(sel) == 0 {
		return request{}, http.StatusBadRequest, errors.New("no match[] parameter: give at least one series selector, e.g. match[]={job=\"node\"}")
	}
	sets, err := h.parser.ParseMetricSelectors(sel)
	if err != nil {
		return request{}, http.StatusBadRequest, err
	}
	tenant, code, err := federate.Scope(r, allowed)
	if err != nil {
		return request{}, code, err
	}
	return request{tenant: tenant, sets: sets}, http.StatusOK, nil
}

// Serve answers GET (or POST form) /api/v1/stream?match[]=<selector>... for
// a reader allowed only tenant's series ("" : every tenant's): 200 and the
// stream, which lasts until the client goes away or the cloud ends it; 400
// for a missing or bad selector; 403 for another tenant; 503 when
// MaxSubscribers streams are open or the cloud is stopping.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, tenant string) {
	code := h.serve(w, r, tenant)
	h.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

// Refused counts a request refused before Serve (401, 403).
func (h *Hub) Refused(code int) {
	h.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request, allowed string) int {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return http.StatusBadRequest
	}
	req, code, err := h.parse(r, allowed)
	if err != nil {
		http.Error(w, err.Error(), code)
		return code
	}
	s := h.subscribe(req.tenant, req.sets)
	if s == nil {
		w.Header().Set("Retry-After", "10")
		http.Error(w, fmt.Sprintf("the cloud is stopping or serves %d streams already (cloud.stream.max_subscribers)", h.cfg.MaxSubscribers), http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable
	}
	defer h.unsubscribe(s)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := h.write(w, rc, nil); err != nil {
		return http.StatusOK
	}
	h.pump(w, rc, r, s)
	return http.StatusOK
}

// pump writes s's blocks until the client goes away or s is cut off.
func (h *Hub) pump(w http.ResponseWriter, rc *http.ResponseController, r *http.Request, s *subscriber) {
	var buf []byte
	for {
		select {
		case <-s.cut:
			h.end(w, rc, s)
			return
		default:
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.cut:
			h.end(w, rc, s)
			return
		case q := <-s.queue:
			s.held.Add(-q.samples)
			var n int
			buf, n = appendDelivery(buf[:0], q.d, s.sets)
			if len(buf) == 0 {
				continue
			}
			if err := h.write(w, rc, buf); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					h.cutOff(s, ReasonWriteTimeout)
				}
				return
			}
			h.m.samples.Add(float64(n))
		}
	}
}

// appendDelivery appends the lines of d's series matching sets and
// returns the samples among them.
func appendDelivery(buf []byte, d *output.Delivery, sets [][]*labels.Matcher) ([]byte, int) {
	n := 0
	var scratch []byte
	for _, b := range d.Batches {
		for i := range b.Series {
			if federate.Matches(b.Series[i].Labels, sets) {
				var k int
				buf, scratch, k = appendSeries(buf, scratch, &b.Series[i])
				n += k
			}
		}
	}
	return buf, n
}

// end writes the last line, saying why the cloud ends s's stream.
func (h *Hub) end(w http.ResponseWriter, rc *http.ResponseController, s *subscriber) {
	var msg string
	switch s.reason {
	case ReasonSlow:
		msg = fmt.Sprintf("the stream fell more than %d samples behind (cloud.stream.buffer_samples): read faster or narrow match[]", h.cfg.BufferSamples)
	case ReasonShutdown:
		msg = "the cloud is stopping"
	default:
		return // a write timed out: nothing more gets through
	}
	_ = h.write(w, rc, appendEnd(nil, s.reason, msg))
}

// write writes b (nothing: only flushes) within WriteTimeout and flushes.
func (h *Hub) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	if len(b) > 0 {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return rc.Flush()
}
