package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowlorisConns is how many connections per HTTP listener send their
// headers a byte at a time.
const slowlorisConns = 50

// slowloris: connections to the cloud's and the good edge's HTTP listeners
// that send a request's headers one byte every 200ms are cut by the
// listener's ReadHeaderTimeout, and the listeners keep answering.
func (h *hostileEnv) slowloris(t *testing.T) {
	var cut, held atomic.Int64
	var longest atomic.Int64
	h.during(t, "slowloris on HTTP", func(stop <-chan struct{}) {
		var wg sync.WaitGroup
		for _, addr := range []string{h.cloudHTTP, h.goodHTTP} {
			for i := 0; i < slowlorisConns; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					start := time.Now()
					req := "GET /-/healthy HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Slow: y\r\n", 100)
					for j := 0; j < len(req); j++ {
						if _, err := c.Write([]byte{req[j]}); err != nil {
							break
						}
						if time.Since(start) > 60*time.Second {
							held.Add(1)
							return
						}
						time.Sleep(200 * time.Millisecond)
					}
					cut.Add(1)
					if d := int64(time.Since(start)); d > longest.Load() {
						longest.Store(d)
					}
				}()
			}
		}
		// While the slow connections are open the listeners still answer.
		for _, addr := range []string{h.cloudHTTP, h.goodHTTP} {
			if code, body := httpGet("http://" + addr + "/-/healthy"); code != 200 {
				t.Errorf("%s/-/healthy during the slowloris: %d %s", addr, code, body)
			}
		}
		wg.Wait()
	})
	if held.Load() > 0 {
		t.Fatalf("%d slow connections still open after a minute", held.Load())
	}
	t.Logf("%d slow connections cut, the last after %v", cut.Load(), time.Duration(longest.Load()).Round(time.Second))
}

// idleConns is how many QUIC connections the idle-connections case opens;
// dialing stops after idleDialFor, before the first is cut.
const (
	idleConns   = 2000
	idleDialFor = 8 * time.Second
)

// idleConnections: a compromised edge's credential opens thousands of
// connections and says nothing: the cloud holds each cheaply and cuts it
// when no HELLO came within 10s. Then it tries to hold them past HELLO:
// the cloud welcomes at most 16 connections of one site and refuses the
// rest, counted.
func (h *hostileEnv) idleConnections(t *testing.T) {
	conf := h.clientTLS(t, "edge.pem", "edge-key.pem")
	before, heapBefore := rss(h.cloud), h.metric(t, "go_memstats_heap_inuse_bytes")/(1<<20)
	var conns []*rawConn
	var mu sync.Mutex
	var failed atomic.Int64
	var took time.Duration
	var open, held, heapHeld float64
	h.during(t, "idle QUIC connections", func(stop <-chan struct{}) {
		t0 := time.Now()
		next := atomic.Int64{}
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= idleConns && time.Since(t0) < idleDialFor {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					rc, err := h.dial(ctx, conf)
					cancel()
					if err != nil {
						failed.Add(1)
						continue
					}
					mu.Lock()
					conns = append(conns, rc)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		took = time.Since(t0)
		open, held = h.metric(t, "edgerelay_transport_connections_open"), rss(h.cloud)
		heapHeld = h.metric(t, "go_memstats_heap_inuse_bytes") / (1 << 20)
		<-stop
	})
	t.Logf("%d idle connections opened in %v (%d failed); the cloud reported %v open; cloud RSS %.0f MiB before, %.0f MiB holding them; Go heap in use %.0f MiB before, %.0f MiB holding them (%.1f KiB each)",
		len(conns), took.Round(time.Millisecond), failed.Load(), open, before, held, heapBefore, heapHeld, (heapHeld-heapBefore)*1024/float64(max(1, len(conns))))
	for _, rc := range conns {
		if code := rc.closedWith(t); code != 0x7 {
			t.Fatalf("an idle connection was closed with code %d, want 7 (timeout)", code)
		}
	}

	refusedBefore := h.metric(t, "edgerelay_transport_refused_total")
	var welcomed []*rawConn
	var refused atomic.Int64
	for i := 0; i < 40; i++ {
		rc, err := h.acmeConnWith(conf)
		if err != nil {
			if !strings.Contains(err.Error(), "already holds 16 connections") {
				t.Fatalf("HELLO %d: %v, want welcomed or refused for holding 16 connections", i+1, err)
			}
			refused.Add(1)
			continue
		}
		welcomed = append(welcomed, rc)
	}
	for _, rc := range welcomed {
		rc.close()
	}
	if len(welcomed) > 16 || refused.Load() < 24 {
		t.Fatalf("%d of 40 connections of one site welcomed, want 16", len(welcomed))
	}
	if got := h.metric(t, "edgerelay_transport_refused_total"); got < refusedBefore+float64(refused.Load()) {
		t.Fatalf("refused connections counted %v, want %d", got-refusedBefore, refused.Load())
	}
	h.checkAlive(t)
}
