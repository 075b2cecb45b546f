package forward

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLoopbackReplayBases runs a real Badger queue keeping its newest
// acknowledged generation, the forwarder and a real QUIC server whose
// cloud lacks the bases of block 4: the block is NACKed with the
// need-base flag, the forwarder connects again and sends the
// acknowledged blocks 1-3 of block 4's generation as BASE frames, then
// REPLAYED, then block 4 and the rest, each taken once.
func TestLoopbackReplayBases(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	serverTLS, clientTLS := loopbackTLS(t, false)
	q, err := store.Open(filepath.Join(t.TempDir(), "queue"), store.Options{Logger: log, RetainBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := 1; i <= 6; i++ {
		if _, err := q.Append(store.Record{Data: fmt.Appendf(nil, "block-%d", i), Samples: 1, Group: 7}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var blocks, bases []uint64
	handle := func(_ context.Context, p transport.Peer, seq uint64, lane uint8, _ []byte) (transport.Ack, error) {
		mu.Lock()
		defer mu.Unlock()
		if seq == 4 && p.CanReplay(lane) && len(bases) == 0 {
			return transport.Ack{}, &transport.NeedBaseError{Lane: lane, Reason: "no base for block 4"}
		}
		if !slices.Contains(blocks, seq) {
			blocks = append(blocks, seq)
		}
		return transport.Ack{}, nil
	}
	base := func(_ context.Context, _ transport.Peer, seq uint64, _ uint8, _ []byte) (transport.Ack, error) {
		mu.Lock()
		defer mu.Unlock()
		bases = append(bases, seq)
		return transport.Ack{}, nil
	}
	auth := func(h transport.Hello, _ tls.ConnectionState) (transport.Peer, error) {
		return transport.Peer{Tenant: h.Tenant, Site: h.Site, QueueID: h.QueueID}, nil
	}
	s, err := transport.NewServer(transport.ServerConfig{Addr: "127.0.0.1:0", TLS: serverTLS, Auth: auth,
		Handle: handle, Base: base, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer background(s.Run)()

	reg := prometheus.NewRegistry()
	f, err := New(q, Config{
		Client: transport.ClientConfig{Addr: s.Addr().String(), TLS: clientTLS,
			Hello: transport.Hello{Tenant: "acme", Site: "plant-7", Token: "secret"}},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: log, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer background(f.Run)()

	deadline := time.Now().Add(30 * time.Second)
	for q.Stats().Blocks > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(bases, []uint64{1, 2, 3}) || !slices.Equal(blocks, []uint64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("bases %v, blocks %v: want bases [1 2 3] resent, then blocks 4-6, each once", bases, blocks)
	}
	if got := metrictest.Value(t, reg, "edgerelay_uplink_replayed_blocks_total"); got != 3 {
		t.Errorf("replayed blocks = %v, want 3", got)
	}
	if st := q.Stats(); st.Blocks != 0 || st.RetainedBlocks != 6 {
		t.Errorf("queue %+v: want empty, 6 blocks of the generation kept", st)
	}
}
