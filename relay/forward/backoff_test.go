package forward

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue()
		q.add(10, 100, 5)
		const minB, maxB = 250 * time.Millisecond, 2 * time.Second
		f, err := New(q, Config{Client: transport.ClientConfig{Addr: "cloud:4433"}, MinBackoff: minB, MaxBackoff: maxB})
		if err != nil {
			t.Fatal(err)
		}
		const failures = 8
		var attempts []time.Time
		f.dial = func(_ context.Context, cc transport.ClientConfig) (uplink, error) {
			attempts = append(attempts, time.Now())
			if cc.Hello.QueueID != 77 {
				t.Errorf("hello queue id = %d, want the queue's 77", cc.Hello.QueueID)
			}
			switch n := len(attempts); {
			case n <= failures && n%2 == 0:
				return nil, fmt.Errorf("dial: %w: unknown token", transport.ErrRefused)
			case n <= failures:
				return nil, errors.New("dial: no route to host")
			}
			return newFakeConn(cc.Window, 1<<20, func(uint64) verdict { return ack }), nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()

		if len(attempts) != failures+1 {
			t.Fatalf("%d connection attempts, want %d", len(attempts), failures+1)
		}
		for k := 1; k < len(attempts); k++ {
			d := min(minB<<(k-1), maxB)
			if dt := attempts[k].Sub(attempts[k-1]); dt < d/2 || dt >= d {
				t.Errorf("wait before attempt %d = %v, want in [%v, %v)", k+1, dt, d/2, d)
			}
		}
		if left, acks := q.state(); left != 0 || acks[len(acks)-1] != 10 {
			t.Fatalf("queue: %d blocks left, acks %v", left, acks)
		}
		if !f.Connected() || testutil.ToFloat64(f.m.connected) != 1 {
			t.Error("not connected after the successful attempt")
		}
		for _, c := range []struct {
			name string
			got  float64
			want float64
		}{
			{"reconnects", testutil.ToFloat64(f.m.reconnects), failures},
			{"errors dial", testutil.ToFloat64(f.m.errors.WithLabelValues("dial")), failures / 2},
			{"errors refused", testutil.ToFloat64(f.m.errors.WithLabelValues("refused")), failures / 2},
			{"sent blocks", testutil.ToFloat64(f.m.sentBlocks), 10},
			{"sent samples", testutil.ToFloat64(f.m.sentSamples), 50},
			{"sent bytes", testutil.ToFloat64(f.m.sentBytes), 10 * (13 + 100)},
		} {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if f.Connected() {
			t.Error("Connected after Run returned")
		}
	})
}

// TestResendAfterDropNackAndOversize drives three connections: the first
// drops mid-stream, the second NACKs a block, the third takes the rest. One
// block is larger than the cloud accepts. Every other block must be acked,
// in order, and each connection must start at the oldest unacked block.
func TestResendAfterDropNackAndOversize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue()
		q.add(14, 100, 2)
		q.add(1, 5000, 2) // seq 15: over the fake cloud's 1000-byte limit
		q.add(5, 100, 2)
		const minB = 100 * time.Millisecond
		f, err := New(q, Config{Client: transport.ClientConfig{Addr: "cloud:4433"}, Window: 4, MinBackoff: minB, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var received [][]uint64 // per connection
		var dialed []time.Time
		f.dial = func(_ context.Context, cc transport.ClientConfig) (uplink, error) {
			mu.Lock()
			defer mu.Unlock()
			conn := len(received)
			received = append(received, nil)
			dialed = append(dialed, time.Now())
			return newFakeConn(cc.Window, 1000, func(seq uint64) verdict {
				mu.Lock()
				defer mu.Unlock()
				received[conn] = append(received[conn], seq)
				switch {
				case conn == 0 && seq == 6:
					return drop
				case conn == 1 && seq == 10:
					return nack
				}
				return ack
			}), nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		t.Logf("received %v", received)
		if len(received) != 3 {
			t.Fatalf("%d connections, want 3: %v", len(received), received)
		}
		if received[1][0] != 6 || received[2][0] != 10 {
			t.Errorf("connections started at %d and %d, want 6 (first unanswered) and 10 (nacked)", received[1][0], received[2][0])
		}
		for i := 1; i < len(dialed); i++ {
			if dt := dialed[i].Sub(dialed[i-1]); dt < minB/2 || dt >= minB {
				t.Errorf("reconnect %d after %v, want in [%v, %v) after progress", i, dt, minB/2, minB)
			}
		}
		// What the cloud made durable: everything a connection received
		// before its drop or NACK.
		var acked []uint64
		for c, seqs := range received {
			for _, s := range seqs {
				if (c == 0 && s == 6) || (c == 1 && s == 10) {
					break
				}
				acked = append(acked, s)
			}
		}
		var want []uint64
		for s := uint64(1); s <= 20; s++ {
			if s != 15 {
				want = append(want, s)
			}
		}
		left, acks := q.state()
		if left != 0 {
			t.Fatalf("%d blocks left in the queue", left)
		}
		if acks[len(acks)-1] != 20 {
			t.Fatalf("queue acks %v: want the last at 20", acks)
		}
		for i := 1; i < len(acks); i++ {
			if acks[i] <= acks[i-1] {
				t.Fatalf("queue acked %d after %d", acks[i], acks[i-1])
			}
		}
		if got := uniqueInOrder(acked); !slices.Equal(got, want) {
			t.Errorf("cloud acked %v, want %v", got, want)
		}
		for _, c := range []struct {
			kind string
			want float64
		}{{"disconnect", 1}, {"nack", 1}, {"too_large", 1}} {
			if got := testutil.ToFloat64(f.m.errors.WithLabelValues(c.kind)); got != c.want {
				t.Errorf("errors{kind=%s} = %v, want %v", c.kind, got, c.want)
			}
		}
		if got := testutil.ToFloat64(f.m.sentBlocks); got != 19 {
			t.Errorf("sent blocks = %v, want 19 (the oversize block is not sent)", got)
		}
	})
}

// uniqueInOrder drops repeats, keeping first occurrences.
func uniqueInOrder(s []uint64) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TestMaxSendRate: with a cap of 10 000 bytes/s, 100 blocks of 1 000
// bytes take ten seconds to go out, and none waits once the cap allows it.
func TestMaxSendRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue()
		q.add(100, 1000, 5)
		f, err := New(q, Config{Client: transport.ClientConfig{Addr: "cloud:4433", MaxBlockBytes: 2000}, MaxSendRate: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		f.dial = func(_ context.Context, cc transport.ClientConfig) (uplink, error) {
			return newFakeConn(cc.Window, 1<<20, func(uint64) verdict { return ack }), nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- f.Run(ctx) }()
		var took time.Duration
		for {
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			if left, _ := q.state(); left == 0 {
				took = time.Since(start)
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatal("queue not drained in a minute")
			}
		}
		// 100 000 bytes at 10 000/s, from an empty bucket.
		if took < 9900*time.Millisecond || took > 10100*time.Millisecond {
			t.Fatalf("100 kB drained in %v at 10 kB/s, want 10s", took)
		}
		cancel()
		<-done
	})
}

// TestBackoffCountsUnansweredDial: an attempt the cloud never answers
// (the handshake times out while the link is down) has waited its backoff
// already, so the next attempt starts as soon as the wait, counted from the
// start of the failed one, is over; a refusal still waits its whole backoff
// after the answer.
func TestBackoffCountsUnansweredDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue()
		q.add(3, 100, 5)
		const minB, maxB, handshake = time.Second, 8 * time.Second, 5 * time.Second
		f, err := New(q, Config{Client: transport.ClientConfig{Addr: "cloud:4433"}, MinBackoff: minB, MaxBackoff: maxB})
		if err != nil {
			t.Fatal(err)
		}
		var starts, ends []time.Time
		f.dial = func(ctx context.Context, cc transport.ClientConfig) (uplink, error) {
			starts = append(starts, time.Now())
			defer func() { ends = append(ends, time.Now()) }()
			switch len(starts) {
			case 1, 2, 3, 4: // the link is down: nothing answers
				time.Sleep(handshake)
				return nil, errors.New("dial: timeout: no recent network activity")
			case 5:
				return nil, fmt.Errorf("dial: %w: unknown token", transport.ErrRefused)
			}
			return newFakeConn(cc.Window, 1<<20, func(uint64) verdict { return ack }), nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(starts) != 6 {
			t.Fatalf("%d attempts, want 6", len(starts))
		}
		for k := 1; k < len(starts); k++ {
			d := min(minB<<(k-1), maxB)
			from, lo, hi := starts[k-1], d/2, d // counted from the failed attempt's start
			if k == 5 {
				from = ends[k-1] // a refusal waits after the answer
			}
			lo, hi = max(lo, ends[k-1].Sub(from)), max(hi, ends[k-1].Sub(from)+time.Nanosecond)
			if dt := starts[k].Sub(from); dt < lo || dt >= hi {
				t.Errorf("attempt %d began %v after attempt %d's start or answer, want in [%v, %v)", k+1, dt, k, lo, hi)
			}
		}
		if left, _ := q.state(); left != 0 {
			t.Errorf("%d blocks left in the queue", left)
		}
	})
}
