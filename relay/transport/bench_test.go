package transport

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkThroughput ships blocks over real QUIC on loopback to a handler
// that only counts, and reports the wire overhead and rate.
func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("block=%dKiB", size>>10), func(b *testing.B) {
			p := newPKI(b)
			s := startServer(b, ServerConfig{TLS: p.server(b, false), Handle: func(context.Context, Peer, uint64, uint8, []byte) (Ack, error) { return Ack{}, nil }})
			c, err := dialTest(b, s, p.client(b, false), func(cfg *ClientConfig) { cfg.Window = 32 })
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			data := make([]byte, size)
			start := c.SentBytes()
			b.SetBytes(int64(size))
			b.ResetTimer()
			go func() {
				for i := 1; i <= b.N; i++ {
					if err := c.Send(context.Background(), uint64(i), data); err != nil {
						b.Error(err)
						return
					}
				}
			}()
			for i := 1; i <= b.N; i++ {
				if a := <-c.Acks(); a.Err != nil || a.Seq != uint64(i) {
					b.Fatalf("ack %+v", a)
				}
			}
			b.StopTimer()
			wire := float64(c.SentBytes() - start)
			b.ReportMetric(wire/float64(b.N)-float64(size), "overhead-bytes/block")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/block")
		})
	}
}
