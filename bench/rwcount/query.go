package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// span reads the from and to parameters (Unix ms); to defaults to "no end".
func span(req *http.Request) (from, to int64, ok bool) {
	f, err1 := strconv.ParseInt(req.URL.Query().Get("from"), 10, 64)
	t := int64(1) << 62
	var err2 error
	if s := req.URL.Query().Get("to"); s != "" {
		t, err2 = strconv.ParseInt(s, 10, 64)
	}
	return f, t, err1 == nil && err2 == nil
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (r *receiver) stats(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s, b int64
	for _, q := range r.log {
		s += q.samples
		b += q.bytes
	}
	reply(w, map[string]any{"samples": s, "bytes": b, "requests": len(r.log), "up": r.srv != nil})
}

// arrivals sums the requests that arrived in [from,to) and the latency of
// their samples: arrival time minus sample timestamp.
func (r *receiver) arrivals(w http.ResponseWriter, req *http.Request) {
	from, to, ok := span(req)
	if !ok {
		http.Error(w, "want from and to in Unix ms", http.StatusBadRequest)
		return
	}
	type lat struct{ ms, n int64 }
	var lats []lat
	var samples, bytes, requests int64
	r.mu.Lock()
	for _, q := range r.log {
		if q.arrival < from || q.arrival >= to {
			continue
		}
		requests++
		samples += q.samples
		bytes += q.bytes
		for _, s := range q.stamps {
			lats = append(lats, lat{q.arrival - s.ts, s.n})
		}
	}
	r.mu.Unlock()
	slices.SortFunc(lats, func(a, b lat) int { return int(a.ms - b.ms) })
	quantile := func(q float64) int64 {
		want := int64(q*float64(samples) + 0.5)
		var seen int64
		for _, l := range lats {
			seen += l.n
			if seen >= want {
				return l.ms
			}
		}
		return -1
	}
	reply(w, map[string]any{"samples": samples, "bytes": bytes, "requests": requests,
		"latency_p50_ms": quantile(0.5), "latency_p99_ms": quantile(0.99)})
}

// stamped counts the samples whose timestamp is in [from,to), whenever they arrived.
func (r *receiver) stamped(w http.ResponseWriter, req *http.Request) {
	from, to, ok := span(req)
	if !ok {
		http.Error(w, "want from and to in Unix ms", http.StatusBadRequest)
		return
	}
	var n int64
	r.mu.Lock()
	for _, q := range r.log {
		for _, s := range q.stamps {
			if s.ts >= from && s.ts < to {
				n += s.n
			}
		}
	}
	r.mu.Unlock()
	reply(w, map[string]any{"samples": n})
}

// catchup describes the drain of an outage from S (from) to R (to): how
// many samples stamped in [S,R) arrived, when the last sample stamped
// before R arrived, and how many stamped at or after R arrived.
func (r *receiver) catchup(w http.ResponseWriter, req *http.Request) {
	from, to, ok := span(req)
	if !ok {
		http.Error(w, "want from and to in Unix ms", http.StatusBadRequest)
		return
	}
	var in, after, last int64
	r.mu.Lock()
	for _, q := range r.log {
		for _, s := range q.stamps {
			switch {
			case s.ts >= to:
				after += s.n
			case s.ts >= from:
				in += s.n
				fallthrough
			default:
				last = max(last, q.arrival)
			}
		}
	}
	r.mu.Unlock()
	reply(w, map[string]any{"in": in, "after": after, "last_arrival_ms": last})
}
