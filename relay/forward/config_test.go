package forward

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantErr    bool
		wantWindow int
	}{
		{"defaults", Config{}, false, transport.DefaultWindow},
		{"window overrides client", Config{Window: 5, Client: transport.ClientConfig{Window: 9}}, false, 5},
		{"client window kept", Config{Client: transport.ClientConfig{Window: 9}}, false, 9},
		{"negative window", Config{Window: -1}, true, 0},
		{"max below min", Config{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(newMemQueue(), tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if f.cfg.Client.Window != tt.wantWindow || f.cfg.Client.Hello.QueueID != 77 {
				t.Errorf("window %d queue id %d", f.cfg.Client.Window, f.cfg.Client.Hello.QueueID)
			}
			if tt.cfg.MinBackoff == 0 && (f.cfg.MinBackoff != DefaultMinBackoff || f.cfg.MaxBackoff != DefaultMaxBackoff) {
				t.Errorf("backoff defaults %v %v", f.cfg.MinBackoff, f.cfg.MaxBackoff)
			}
		})
	}
	reg := prometheus.NewRegistry()
	if _, err := New(newMemQueue(), Config{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(newMemQueue(), Config{Registerer: reg}); err == nil {
		t.Error("two forwarders registered the same metrics")
	}
}

// TestBackoffGrowsWithoutProgress: connections that end before any ack
// must not reset the backoff, or a cloud that always fails would be hammered.
func TestBackoffGrowsWithoutProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newMemQueue()
		q.add(3, 10, 1)
		f, err := New(q, Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: 800 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var dialed []time.Time
		f.dial = func(_ context.Context, cc transport.ClientConfig) (uplink, error) {
			dialed = append(dialed, time.Now())
			return newFakeConn(cc.Window, 1<<20, func(uint64) verdict { return drop }), nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx) }()
		time.Sleep(5 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for k := 1; k < len(dialed); k++ {
			d := min(100*time.Millisecond<<(k-1), 800*time.Millisecond)
			if dt := dialed[k].Sub(dialed[k-1]); dt < d/2 || dt >= d {
				t.Errorf("wait before connection %d = %v, want in [%v, %v)", k+1, dt, d/2, d)
			}
		}
		if len(dialed) < 5 {
			t.Errorf("only %d connections in 5s", len(dialed))
		}
		if left, acks := q.state(); left != 3 || len(acks) != 0 {
			t.Errorf("queue changed: %d left, acks %v", left, acks)
		}
	})
}
