package forward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// cloud is a test cloud: it keeps which blocks are durable and checks that
// no block becomes durable before every block before it.
type cloud struct {
	mu       sync.Mutex
	durable  map[uint64]bool
	order    []uint64
	repeats  int
	failOnce map[uint64]bool
	errs     []string
	progress chan struct{} // receives after each new durable block
}

// answer makes a handler that fails or succeeds into a transport.Handler
// whose Acks carry nothing more.
func answer(h func(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) error) transport.Handler {
	return func(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) (transport.Ack, error) {
		return transport.Ack{}, h(ctx, p, seq, lane, data)
	}
}

func (c *cloud) handle(_ context.Context, p transport.Peer, seq uint64, _ uint8, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.QueueID == 0 || p.Site != "plant-7" {
		c.errs = append(c.errs, fmt.Sprintf("peer %+v", p))
	}
	if c.durable[seq] {
		c.repeats++ // a resend after a lost ack: dropped by (site, queue_id, seq)
		return nil
	}
	if c.failOnce[seq] {
		delete(c.failOnce, seq)
		return errors.New("cloud disk hiccup")
	}
	if want := uint64(len(c.order)) + 1; seq != want {
		c.errs = append(c.errs, fmt.Sprintf("block %d arrived while %d was the next missing", seq, want))
	}
	if want := fmt.Sprintf("block-%d", seq); string(data) != want {
		c.errs = append(c.errs, fmt.Sprintf("block %d carries %q", seq, data))
	}
	c.durable[seq] = true
	c.order = append(c.order, seq)
	select {
	case c.progress <- struct{}{}:
	default:
	}
	return nil
}

// loopbackTLS writes a CA and pairs and returns the cloud's and the edge's
// TLS configurations; with mtls the cloud requires the edge's certificate.
func loopbackTLS(t *testing.T, mtls bool) (server, client *tls.Config) {
	t.Helper()
	certs := t.TempDir()
	if err := tlsutil.WriteBundle(certs, nil, "acme", "site-1"); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(certs, n) }
	clientCA, edgeCert, edgeKey := "", "", ""
	if mtls {
		clientCA, edgeCert, edgeKey = p(tlsutil.CAFile), p(tlsutil.EdgeCertFile), p(tlsutil.EdgeKeyFile)
	}
	server, err := tlsutil.ServerTLS(p(tlsutil.CloudCertFile), p(tlsutil.CloudKeyFile), clientCA, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	client, err = tlsutil.ClientTLS("localhost", p(tlsutil.CAFile), edgeCert, edgeKey, false)
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

func (c *cloud) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

// TestLoopbackOutages runs a real Badger queue, the forwarder and real QUIC
// servers on loopback through refusals, a NACK and a server that goes away
// mid-stream and comes back on the same port. Every block must reach the
// cloud exactly in order, none skipped, and leave the queue.
func TestLoopbackOutages(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	serverTLS, clientTLS := loopbackTLS(t, true)

	q, err := store.Open(filepath.Join(t.TempDir(), "queue"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	const total, first = 300, 150
	appendBlocks := func(from, to int) {
		for i := from; i <= to; i++ {
			if _, err := q.Append(store.Record{Data: []byte(fmt.Sprintf("block-%d", i)), Samples: 3}); err != nil {
				t.Error(err)
				return
			}
		}
	}
	appendBlocks(1, first)

	var attempts atomic.Int32
	const refusals = 3
	auth := func(h transport.Hello, cs tls.ConnectionState) (transport.Peer, error) {
		if attempts.Add(1) <= refusals {
			return transport.Peer{}, errors.New("tenant not provisioned yet")
		}
		if h.Token != "secret" || len(cs.PeerCertificates) == 0 {
			return transport.Peer{}, errors.New("bad credentials")
		}
		return transport.Peer{Tenant: h.Tenant, Site: h.Site, QueueID: h.QueueID}, nil
	}
	cl := &cloud{durable: map[uint64]bool{}, failOnce: map[uint64]bool{77: true}, progress: make(chan struct{}, 1)}
	const dropAt = 100
	// The first server stops taking blocks after dropAt; the test then
	// shuts it down with blocks in flight.
	firstHandle := func(ctx context.Context, p transport.Peer, seq uint64, lane uint8, data []byte) error {
		if cl.count() >= dropAt {
			<-ctx.Done()
			return ctx.Err()
		}
		return cl.handle(ctx, p, seq, lane, data)
	}
	srvReg := prometheus.NewRegistry()
	s1, err := transport.NewServer(transport.ServerConfig{Addr: "127.0.0.1:0", TLS: serverTLS, Auth: auth,
		Handle: answer(firstHandle), Logger: log, Registerer: srvReg})
	if err != nil {
		t.Fatal(err)
	}
	addr := s1.Addr().String()
	ctx1, stop1 := context.WithCancel(context.Background())
	run1 := make(chan error, 1)
	go func() { run1 <- s1.Run(ctx1) }()
	defer func() { stop1(); <-run1 }()

	reg := prometheus.NewRegistry()
	f, err := New(q, Config{
		Client: transport.ClientConfig{Addr: addr, TLS: clientTLS,
			Hello: transport.Hello{Tenant: "acme", Site: "plant-7", Token: "secret"}},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Window: 8, Logger: log, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	fctx, stopF := context.WithCancel(context.Background())
	runF := make(chan error, 1)
	go func() { runF <- f.Run(fctx) }()
	defer func() { stopF(); <-runF }()
	go appendBlocks(first+1, total)

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (cloud has %d blocks)", what, cl.count())
			}
			select {
			case <-cl.progress:
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitFor("the first server to take its share", func() bool { return cl.count() >= dropAt })
	stop1()
	if err := <-run1; err != nil {
		t.Fatalf("first server Run: %v", err)
	}
	run1 <- nil // for the deferred cleanup

	s2, err := transport.NewServer(transport.ServerConfig{Addr: addr, TLS: serverTLS, Auth: auth, Handle: answer(cl.handle), Logger: log})
	if err != nil {
		t.Fatalf("second server on the same port: %v", err)
	}
	ctx2, stop2 := context.WithCancel(context.Background())
	run2 := make(chan error, 1)
	go func() { run2 <- s2.Run(ctx2) }()
	defer func() { stop2(); <-run2 }()

	waitFor("every block to be acked", func() bool { return q.Stats().Blocks == 0 && cl.count() == total })
	cl.mu.Lock()
	for i, seq := range cl.order {
		if seq != uint64(i+1) {
			t.Fatalf("durable order broken at %d: %v", i, cl.order)
		}
	}
	for _, e := range cl.errs {
		t.Error(e)
	}
	repeats := cl.repeats
	cl.mu.Unlock()
	if !f.Connected() {
		t.Error("not connected at the end")
	}
	metric := func(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
	for _, c := range []struct {
		name      string
		got, want float64
		atLeast   bool
	}{
		{"sent blocks (each acked once)", metric(f.m.sentBlocks), total, false},
		{"sent samples", metric(f.m.sentSamples), 3 * total, false},
		{"refused", metric(f.m.errors.WithLabelValues("refused")), refusals, false},
		{"nacks", metric(f.m.errors.WithLabelValues("nack")), 1, false},
		{"disconnects", metric(f.m.errors.WithLabelValues("disconnect")), 1, true},
		{"reconnects", metric(f.m.reconnects), refusals + 2, true},
		{"server refusals", metrictest.Value(t, srvReg, "edgerelay_transport_refused_total"), refusals, false},
		{"sent bytes", metric(f.m.sentBytes), total * 13, true},
	} {
		if (c.atLeast && c.got < c.want) || (!c.atLeast && c.got != c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	t.Logf("resent blocks the cloud already had: %d; connection attempts: %d", repeats, attempts.Load())
	stopF()
	if err := <-runF; err != nil {
		t.Fatalf("forwarder Run: %v", err)
	}
	runF <- nil
	if f.Connected() {
		t.Error("connected after Run returned")
	}

	// The edge restarts: a new forwarder on the same queue ships only
	// what was appended since, continuing the sequence.
	appendBlocks(total+1, total+50)
	f2, err := New(q, Config{
		Client: transport.ClientConfig{Addr: addr, TLS: clientTLS,
			Hello: transport.Hello{Tenant: "acme", Site: "plant-7", Token: "secret"}},
		MinBackoff: 10 * time.Millisecond, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx3, stop3 := context.WithCancel(context.Background())
	run3 := make(chan error, 1)
	go func() { run3 <- f2.Run(ctx3) }()
	defer func() { stop3(); <-run3 }()
	waitFor("the restarted edge to drain", func() bool { return q.Stats().Blocks == 0 && cl.count() == total+50 })
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.repeats != repeats {
		t.Errorf("the restarted edge resent %d blocks already acked", cl.repeats-repeats)
	}
	for _, e := range cl.errs {
		t.Error(e)
	}
}
