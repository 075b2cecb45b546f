package upstreams

import (
	"log/slog"
	"testing"

	"github.com/edgerelay/edgerelay/store"
)

// BenchmarkAck is the cost of acknowledging one 4 KiB block: the queue
// alone (one upstream, edge.upstream), and through the views of two
// upstreams in replicate mode (each persists its cursor; the queue deletes
// once both have the block).
func BenchmarkAck(b *testing.B) {
	for _, tc := range []struct {
		name string
		ups  int
	}{{"queue", 0}, {"replicate-2", 2}} {
		b.Run(tc.name, func(b *testing.B) {
			q, err := store.Open(b.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			recs := make([]store.Record, b.N)
			for i := range recs {
				recs[i] = store.Record{Data: make([]byte, 4096), Samples: 100, Group: 1}
			}
			first, err := q.Append(recs...)
			if err != nil {
				b.Fatal(err)
			}
			var views []*View
			if tc.ups > 0 {
				s, err := New(q, []Upstream{{Name: "a"}, {Name: "b"}}, false, nil, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				views = s.Views()
			}
			b.ResetTimer()
			for i := range b.N {
				seq := first + uint64(i)
				if views == nil {
					err = q.AckThrough(seq)
				} else {
					for _, v := range views {
						if err = v.AckThrough(seq); err != nil {
							break
						}
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
