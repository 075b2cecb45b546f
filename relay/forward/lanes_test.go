package forward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLanesLoopback: a real Badger queue with a backlog, a forwarder with
// replay_share 0.25 and a real QUIC server taking lanes. The connection
// finds the backlog and asks for a split, which the appender (here the
// test, as the edge's committer does) starts before appending live blocks;
// they then go beside the backlog, one backlog block to three live ones
// while both wait; a NACK mid-way ends the connection and the next one goes
// on in both lanes. Every block arrives, each lane in order, and leaves the
// queue.
func TestLanesLoopback(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	serverTLS, clientTLS := loopbackTLS(t, false)
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := store.Open(dir, store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	const backlog, live = 120, 90
	add := func(from, to int) {
		for i := from; i <= to; i++ {
			if _, err := q.Append(store.Record{Data: fmt.Appendf(nil, "block-%04d", i), Samples: 1}); err != nil {
				t.Error(err)
			}
		}
	}
	add(1, backlog)

	type arrival struct {
		seq  uint64
		lane uint8
	}
	var mu sync.Mutex
	var got []arrival
	durable := map[uint64]bool{}
	nacked := false
	landed := make(chan struct{}) // the split is made and the live blocks appended
	handle := func(_ context.Context, _ transport.Peer, seq uint64, lane uint8, data []byte) error {
		select {
		case <-landed:
		case <-time.After(20 * time.Second):
			t.Error("the split asked for was never made")
		}
		time.Sleep(time.Millisecond) // both lanes keep blocks waiting
		mu.Lock()
		defer mu.Unlock()
		if string(data) != fmt.Sprintf("block-%04d", seq) {
			t.Errorf("block %d carries %q", seq, data)
		}
		if durable[seq] {
			return nil // a resend after the NACK
		}
		if len(got) == 60 && !nacked {
			nacked = true
			return errors.New("cloud disk hiccup")
		}
		durable[seq] = true
		got = append(got, arrival{seq, lane})
		return nil
	}
	auth := func(h transport.Hello, _ tls.ConnectionState) (transport.Peer, error) {
		return transport.Peer{Tenant: h.Tenant, Site: h.Site, QueueID: h.QueueID}, nil
	}
	srv, err := transport.NewServer(transport.ServerConfig{Addr: "127.0.0.1:0", TLS: serverTLS, Auth: auth,
		Handle: answer(handle), Lanes: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer background(srv.Run)()

	f, err := New(q, Config{
		Client: transport.ClientConfig{Addr: srv.Addr().String(), TLS: clientTLS,
			Hello: transport.Hello{Tenant: "acme", Site: "plant-7"}},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Window: 4,
		ReplayShare: 0.25,
		Logger:      log,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The appender: it asks before each append whether a live lane starts.
	splits := 0
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		stop := time.Now().Add(20 * time.Second)
		for !f.Lanes().Start() {
			if time.Now().After(stop) {
				return
			}
			time.Sleep(time.Millisecond)
		}
		splits++
		add(backlog+1, backlog+live)
		close(landed)
		for range 10 { // later commits ask again: no second split
			if f.Lanes().Start() {
				splits++
			}
		}
	}()
	stopF := background(f.Run)
	defer stopF()

	deadline := time.Now().Add(30 * time.Second)
	sawTwo := false
	for q.Stats().Blocks > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %+v", q.Stats())
		}
		sawTwo = sawTwo || testutil.ToFloat64(f.m.lanes) == 2
		time.Sleep(5 * time.Millisecond)
	}
	if !sawTwo {
		t.Error("edgerelay_uplink_lanes never showed 2 lanes during the drain")
	}
	for testutil.ToFloat64(f.m.lanes) != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the sender notices the backlog is through
	}
	if v := testutil.ToFloat64(f.m.lanes); v != 1 {
		t.Errorf("edgerelay_uplink_lanes %v after the drain, want 1", v)
	}
	stopF()

	<-appended
	mu.Lock()
	defer mu.Unlock()
	if splits != 1 || !nacked {
		t.Fatalf("splits %d, nacked %v", splits, nacked)
	}
	if len(got) != backlog+live {
		t.Fatalf("%d blocks durable, want %d", len(got), backlog+live)
	}
	var last [2]uint64
	backlogIn40 := 0
	for i, a := range got {
		if want := uint8(0); a.seq > backlog {
			want = 1
			if a.lane != want {
				t.Fatalf("block %d in lane %d", a.seq, a.lane)
			}
		} else if a.lane != want {
			t.Fatalf("block %d in lane %d", a.seq, a.lane)
		}
		if a.seq <= last[a.lane] {
			t.Fatalf("lane %d: block %d after %d", a.lane, a.seq, last[a.lane])
		}
		last[a.lane] = a.seq
		if i < 40 && a.lane == 0 {
			backlogIn40++
		}
	}
	// The split lands while at most a window (4 blocks) of the backlog is
	// sent: from then on a quarter of the bytes (all blocks are the same
	// size) is backlog, so the live lane first catches up on those four.
	if backlogIn40 < 8 || backlogIn40 > 12 {
		t.Fatalf("%d of the first 40 blocks were backlog, want about 10 (replay_share 0.25)", backlogIn40)
	}
	if st := q.Stats(); st.Blocks != 0 || st.HeadSeq != 0 {
		t.Fatalf("queue after the drain: %+v", st)
	}
}

// background runs run until the returned stop is first called, which
// cancels its context and waits for it to return; later calls do nothing.
func background(run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	return sync.OnceFunc(func() { cancel(); <-done })
}
