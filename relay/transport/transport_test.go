package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
)

func TestRoundTrip(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: rec.handle})
	c, err := dialTest(t, s, p.client(t, false), func(cfg *ClientConfig) { cfg.Window = 4 })
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	wantBytes := c.SentBytes() // HELLO
	go func() {
		for i := uint64(1); i <= n; i++ {
			data := bytes.Repeat([]byte{byte(i)}, int(i)*100)
			wantBytes += uint64(headerLen + 8 + len(data))
			if err := c.Send(context.Background(), i*2, data); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}()
	for i := uint64(1); i <= n; i++ {
		a, ok := nextAck(t, c)
		if !ok || a.Err != nil || a.Seq != i*2 {
			t.Fatalf("ack %d = %+v (open %v), want seq %d", i, a, ok, i*2)
		}
	}
	if got := c.SentBytes(); got != wantBytes {
		t.Errorf("SentBytes = %d, want %d", got, wantBytes)
	}
	got := rec.got()
	if len(got) != n {
		t.Fatalf("handler got %d blocks, want %d", len(got), n)
	}
	for i, seq := range got {
		want := uint64(i+1) * 2
		if seq != want || !bytes.Equal(rec.data[seq], bytes.Repeat([]byte{byte(i + 1)}, (i+1)*100)) {
			t.Fatalf("block %d: seq %d, want %d, or payload differs", i, seq, want)
		}
	}
	peer := rec.peers[0]
	if peer.Tenant != "acme" || peer.Site != "plant-7" || peer.QueueID != 42 || peer.Remote == nil {
		t.Errorf("peer = %+v", peer)
	}
	if v := metrictest.Value(t, s.reg, "edgerelay_transport_received_blocks_total"); v != n {
		t.Errorf("received blocks = %v", v)
	}
	if v := metrictest.Value(t, s.reg, "edgerelay_transport_connections_open"); v != 1 {
		t.Errorf("open connections = %v", v)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := c.Send(context.Background(), 1000, []byte("x")); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	s.waitMetric(t, "edgerelay_transport_connections_open", 0)
}

func TestRefused(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name     string
		mtls     bool
		withCert bool
		token    string
		reason   string
	}{
		{"bad token", false, false, "wrong", "unknown token"},
		{"mtls without client cert", true, false, "secret", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			s := startServer(t, ServerConfig{TLS: p.server(t, tt.mtls), Handle: rec.handle})
			c, err := dialTest(t, s, p.client(t, tt.withCert), func(cfg *ClientConfig) { cfg.Hello.Token = tt.token })
			if err == nil {
				// A TLS 1.3 client may finish its handshake before the
				// server rejects its certificate: the refusal shows as
				// the connection ending.
				select {
				case <-c.Done():
					err = c.Err()
				case <-time.After(10 * time.Second):
					t.Fatal("connection neither refused nor ended")
				}
			}
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err %q does not carry reason %q", err, tt.reason)
			}
			if tt.reason != "" {
				s.waitMetric(t, "edgerelay_transport_refused_total", 1)
			} else if hs, cs := metrictest.Value(t, s.reg, "edgerelay_transport_tls_handshakes_total"), metrictest.Value(t, s.reg, "edgerelay_transport_connections_total"); hs != 1 || cs != 0 {
				// Refused by TLS: a handshake begun, no connection.
				t.Errorf("handshakes %v, connections %v; want 1 and 0", hs, cs)
			}
			if len(rec.got()) != 0 {
				t.Error("handler called for a refused edge")
			}
		})
	}
	t.Run("mtls with client cert", func(t *testing.T) {
		s := startServer(t, ServerConfig{TLS: p.server(t, true), Handle: (&recorder{}).handle})
		c, err := dialTest(t, s, p.client(t, true), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Send(context.Background(), 1, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if a, _ := nextAck(t, c); a.Seq != 1 || a.Err != nil {
			t.Fatalf("ack = %+v", a)
		}
	})
}

func TestHandlerErrorNacks(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{failAt: map[uint64]error{3: errors.New("disk full")}}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: rec.handle})
	c, err := dialTest(t, s, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 5; seq++ {
		if err := c.Send(context.Background(), seq, []byte("block")); err != nil {
			if seq <= 3 {
				t.Fatal(err)
			}
			break // the server may end the stream after its NACK of 3 before 4 is sent
		}
	}
	var acks []Ack
	for a := range c.Acks() {
		acks = append(acks, a)
	}
	if len(acks) != 3 || acks[0].Err != nil || acks[1].Err != nil {
		t.Fatalf("acks = %+v, want ack 1, ack 2, nack 3", acks)
	}
	var nack *NackError
	if !errors.As(acks[2].Err, &nack) || nack.Seq != 3 || !strings.Contains(nack.Reason, "disk full") {
		t.Fatalf("third answer = %+v, want NACK 3 with reason", acks[2])
	}
	<-c.Done()
	if c.Err() == nil {
		t.Error("Err is nil after the server closed")
	}
	if got := rec.got(); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("handler accepted %v, want [1 2]: nothing after the failed block", got)
	}
	s.waitMetric(t, "edgerelay_transport_nacks_total", 1)
}

func TestBlockSizeLimits(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: rec.handle, MaxBlockBytes: 64 << 10})
	c, err := dialTest(t, s, p.client(t, false), func(cfg *ClientConfig) { cfg.MaxBlockBytes = 1 << 20 })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{"at the server's limit", 64 << 10, nil},
		{"one byte over", 64<<10 + 1, ErrBlockTooLarge},
		{"within the client's but over the server's", 512 << 10, ErrBlockTooLarge},
		{"small after a refusal", 10, nil},
	}
	seq := uint64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq++
			err := c.Send(context.Background(), seq, make([]byte, tt.size))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send(%d bytes) = %v, want %v", tt.size, err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if a, ok := nextAck(t, c); !ok || a.Seq != seq || a.Err != nil {
					t.Fatalf("ack = %+v", a)
				}
			}
		})
	}
	if v := metrictest.Value(t, s.reg, "edgerelay_transport_malformed_frames_total"); v != 0 {
		t.Errorf("malformed = %v: the client should have refused locally", v)
	}
}

func TestManyInFlight(t *testing.T) {
	p := newPKI(t)
	release := make(chan struct{})
	rec := &recorder{}
	handle := func(ctx context.Context, peer Peer, seq uint64, _ uint8, data []byte) (Ack, error) {
		select {
		case <-release:
		case <-ctx.Done():
			return Ack{}, ctx.Err()
		}
		return rec.handle(ctx, peer, seq, 0, data)
	}
	s := startServer(t, ServerConfig{TLS: p.server(t, false), Handle: handle})
	const window = 32
	c, err := dialTest(t, s, p.client(t, false), func(cfg *ClientConfig) { cfg.Window = window })
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= window; seq++ {
		if err := c.Send(context.Background(), seq, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err = c.Send(ctx, window+1, []byte("x"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with a full window = %v, want it to block until the deadline", err)
	}
	close(release)
	const total = 2000
	go func() {
		for seq := uint64(window + 1); seq <= total; seq++ {
			if err := c.Send(context.Background(), seq, []byte(fmt.Sprint(seq))); err != nil {
				t.Errorf("send %d: %v", seq, err)
				return
			}
		}
	}()
	for want := uint64(1); want <= total; want++ {
		a, ok := nextAck(t, c)
		if !ok || a.Seq != want || a.Err != nil {
			t.Fatalf("ack = %+v (open %v), want %d", a, ok, want)
		}
	}
	if got := rec.got(); len(got) != total {
		t.Fatalf("handler got %d blocks", len(got))
	}
}

func TestServerShutdown(t *testing.T) {
	p := newPKI(t)
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", TLS: p.server(t, false), Auth: tokenAuth, Handle: (&recorder{}).handle})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c, err := dialTest(t, testServer{Server: s}, p.client(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	<-c.Done()
	var ce *CloseError
	if !errors.As(c.Err(), &ce) || ce.Code != CodeShutdown || !ce.Remote {
		t.Fatalf("client Err = %v, want remote shutdown", c.Err())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after Run = %v", err)
	}
}
