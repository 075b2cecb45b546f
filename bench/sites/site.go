package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// simCounts are what the simulated sites did, over all of them.
type simCounts struct {
	connected, failed, sent, acked, nacked, resyncs atomic.Int64
}

// site is one simulated edge: a QUIC connection of its own, with its own
// site name, sending every interval one block holding the delta frame of
// a scrape of series series, as an edge's delta stage and uplink do. Half
// of the series are counters that move every scrape, half gauges that
// move on one scrape in four.
type site struct {
	name  string
	keys  []string // canonical label sets, site label included
	enc   *delta.Encoder
	scr   delta.Scrape
	n     int
	seq   uint64
	block []byte
	// resync: the cloud asked for a new generation (it lost the base).
	resync atomic.Bool
}

func newSite(i, series int) *site {
	s := &site{name: fmt.Sprintf("site-%05d", i), enc: delta.NewEncoder(uint64(i) + 1)}
	const job, instance = "node", "127.0.0.1:9100"
	for j := range series {
		var k []byte
		if j < series/2 {
			k = delta.AppendLabel(k, "__name__", "bench_requests_total")
			k = delta.AppendLabel(k, "id", strconv.Itoa(j))
		} else {
			k = delta.AppendLabel(k, "__name__", "bench_temperature_celsius")
		}
		k = delta.AppendLabel(k, "instance", instance)
		k = delta.AppendLabel(k, "job", job)
		if j >= series/2 {
			k = delta.AppendLabel(k, "sensor", "s"+strconv.Itoa(j))
		}
		k = delta.AppendLabel(k, "site", s.name)
		s.keys = append(s.keys, string(k))
	}
	s.scr = delta.Scrape{
		Target:       delta.TargetKey(job, instance),
		Attrs:        string(delta.AppendLabel(delta.AppendLabel(nil, "instance", instance), "job", job)),
		StableLabels: true,
		Metadata: []delta.Meta{
			{Family: "bench_requests_total", Type: "counter", Help: "Requests handled, by id."},
			{Family: "bench_temperature_celsius", Type: "gauge", Help: "Temperature by sensor."},
		},
	}
	return s
}

// next returns the block of the site's next scrape, stamped ts.
func (s *site) next(ts int64) []byte {
	s.n++
	s.seq++
	s.scr.Timestamp = ts
	s.scr.Series = s.scr.Series[:0]
	half := len(s.keys) / 2
	for j, k := range s.keys {
		v := float64(s.n*(j+1)) + 0.5
		if j >= half {
			v = 20 + float64((s.n/4+j)%97)/8
		}
		s.scr.Series = append(s.scr.Series, delta.Series{Labels: k, T: ts, V: math.Float64bits(v)})
	}
	frame := s.enc.AppendFrame(nil, &s.scr)
	s.block = block.Encode(s.block[:0], &relay.Block{Tenant: tenant, Site: s.name, Generation: s.enc.Generation(), Frames: [][]byte{frame}})
	return s.block
}

// run connects at start and sends a scrape every interval until ctx ends.
func (s *site) run(ctx context.Context, addr string, start time.Time, interval time.Duration, c *simCounts) {
	conn, err := dial(ctx, addr, s.name)
	if err != nil {
		c.failed.Add(1)
		return
	}
	defer conn.Close()
	c.connected.Add(1)
	go func() {
		for a := range conn.Acks() {
			switch {
			case a.Err != nil:
				c.nacked.Add(1)
			case a.Resync:
				c.resyncs.Add(1)
				c.acked.Add(1)
				s.resync.Store(true)
			default:
				c.acked.Add(1)
			}
		}
	}()
	t := time.NewTimer(time.Until(start))
	defer t.Stop()
	next := start
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.Done():
			c.failed.Add(1)
			return
		case <-t.C:
		}
		if s.resync.Swap(false) {
			s.enc.Checkpoint()
		}
		if err := conn.Send(ctx, s.seq+1, s.next(next.UnixMilli())); err != nil {
			if ctx.Err() == nil {
				c.failed.Add(1)
			}
			return
		}
		c.sent.Add(1)
		next = next.Add(interval)
		t.Reset(time.Until(next))
	}
}

// dial connects as site name of the bench's tenant, trying a few times:
// thousands of handshakes at once may time out on a loaded machine.
func dial(ctx context.Context, addr, name string) (*transport.Conn, error) {
	var err error
	for range 5 {
		var conn *transport.Conn
		conn, err = transport.Dial(ctx, transport.ClientConfig{
			Addr:  addr,
			TLS:   &tls.Config{ServerName: "localhost", InsecureSkipVerify: true},
			Hello: transport.Hello{Tenant: tenant, Site: name, QueueID: 1},
		})
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(time.Second)
	}
	return nil, err
}
