// Command rwcount is the counting remote_write receiver of bench/peers: it
// accepts remote_write 1.0 (snappy, protobuf) on -listen, answers 204, and
// remembers for every request when it arrived, its body size, and how many
// samples (float and histogram) it held per sample timestamp. A second
// listener, -control, answers the bench's questions over that log and can
// take the write listener down and up again to simulate an outage of the
// receiver (connections are refused while it is down).
//
//	go run ./bench/rwcount -listen 127.0.0.1:9501 -control 127.0.0.1:9502
//
// Control paths (times in Unix milliseconds):
//
//	GET  /stats                      totals: samples, bytes, requests, up
//	GET  /arrivals?from=A&to=B       requests arriving in [A,B): samples, bytes,
//	                                 latency p50/p99 (arrival - sample timestamp)
//	GET  /stamped?from=A&to=B        samples whose timestamp is in [A,B), whenever they arrived
//	GET  /catchup?from=S&to=R        samples stamped in [S,R), the last arrival of a
//	                                 sample stamped before R, samples stamped at or after R
//	POST /down, POST /up             close or reopen the write listener
//
// A request that is not snappy-compressed protobuf is answered 400 and not
// counted; the log is kept in memory (about 40 bytes per request).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// stamp is how many samples of one request carry one timestamp.
type stamp struct {
	ts int64
	n  int64
}

// request is one accepted remote_write request.
type request struct {
	arrival int64 // ms
	bytes   int64 // compressed body
	samples int64
	stamps  []stamp
}

type receiver struct {
	mu   sync.Mutex
	log  []request
	addr string
	srv  *http.Server
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9501", "remote_write listener (POST /api/v1/write)")
	control := flag.String("control", "127.0.0.1:9502", "control listener")
	flag.Parse()
	r := &receiver{addr: *listen}
	if err := r.up(); err != nil {
		log.Fatal(err)
	}
	cm := http.NewServeMux()
	cm.HandleFunc("GET /stats", r.stats)
	cm.HandleFunc("GET /arrivals", r.arrivals)
	cm.HandleFunc("GET /stamped", r.stamped)
	cm.HandleFunc("GET /catchup", r.catchup)
	cm.HandleFunc("POST /down", func(w http.ResponseWriter, _ *http.Request) { r.down(); fmt.Fprintln(w, "down") })
	cm.HandleFunc("POST /up", func(w http.ResponseWriter, _ *http.Request) {
		if err := r.up(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "up")
	})
	fmt.Fprintln(os.Stderr, "rwcount: write", *listen, "control", *control)
	log.Fatal(http.ListenAndServe(*control, cm))
}

// up opens the write listener unless it is open.
func (r *receiver) up() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return nil
	}
	m := http.NewServeMux()
	m.HandleFunc("POST /api/v1/write", r.write)
	srv := &http.Server{Addr: r.addr, Handler: m, ReadHeaderTimeout: 10 * time.Second}
	var err error
	for range 50 { // the port may linger a moment after down
		var ln net.Listener
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.srv = srv
			go srv.Serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("listen on %s: %w", r.addr, err)
}

// down closes the write listener and every open connection.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *receiver) write(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		http.Error(w, "protobuf: "+err.Error(), http.StatusBadRequest)
		return
	}
	q := request{arrival: time.Now().UnixMilli(), bytes: int64(len(body))}
	add := func(ts int64) {
		q.samples++
		for i := range q.stamps {
			if q.stamps[i].ts == ts {
				q.stamps[i].n++
				return
			}
		}
		q.stamps = append(q.stamps, stamp{ts: ts, n: 1})
	}
	for _, s := range wr.Timeseries {
		for _, p := range s.Samples {
			add(p.Timestamp)
		}
		for _, h := range s.Histograms {
			add(h.Timestamp)
		}
	}
	r.mu.Lock()
	r.log = append(r.log, q)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
