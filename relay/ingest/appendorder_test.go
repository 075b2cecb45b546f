package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/relay"
)

// TestAppenderOrderMatchesIndex: an appender that follows the last scrape's
// order (reuse on) builds the same batches as one that indexes every series
// (reuse off), over random scrapes whose series mostly keep their order but
// sometimes move, vanish, come new, come twice (explicit timestamps), or
// share a ref with another label set, as Prometheus' scrape cache would
// hand them over.
func TestAppenderOrderMatchesIndex(t *testing.T) {
	for seed := range uint64(8) {
		var got [2][]string
		for k, reuse := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(seed, 1))
			sink := &textSink{}
			a, _ := newTestAppendable(sink)
			a.reuse = reuse
			tl := labels.FromStrings(model.JobLabel, "j", model.InstanceLabel, "h:1")
			ctx := scrape.ContextWithTarget(context.Background(), scrape.NewTarget(tl, nil, nil, nil))
			sets := make([]labels.Labels, 40)
			for i := range sets {
				sets[i] = labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "job", "j")
			}
			refs := map[int]storage.SeriesRef{} // the scrape cache: series → ref
			cur := make([]int, 30)
			for i := range cur {
				cur[i] = i
			}
			for n := range 30 {
				ts := int64(n+1) * 1000
				order := append([]int(nil), cur...)
				switch rng.IntN(6) {
				case 0: // a series moves
					i, j := rng.IntN(len(order)), rng.IntN(len(order))
					order[i], order[j] = order[j], order[i]
				case 1: // one comes twice
					order = append(order, order[rng.IntN(len(order))])
				case 2: // one goes, one comes
					order = append(order[:rng.IntN(len(order))], order[rng.IntN(len(order)):]...)
					order = append(order, 30+rng.IntN(10))
				}
				app := a.AppenderV2(ctx)
				for pos, s := range order {
					ref := refs[s]
					if s == 39 {
						ref = refs[0] // another label set under series 0's ref
					}
					r, err := app.Append(ref, sets[s], 0, ts+int64(pos), float64(s), nil, nil, storage.AOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := refs[s]; !ok && s != 39 {
						refs[s] = r
					}
				}
				if err := app.Commit(); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(3) == 0 {
					cur = order
				}
			}
			got[k] = sink.seen
		}
		for n := range got[0] {
			if got[0][n] != got[1][n] {
				t.Fatalf("seed %d scrape %d:\nindexed  %s\nin order %s", seed, n, got[0][n], got[1][n])
			}
		}
	}
}

// textSink records each batch's series as text when submitted.
type textSink struct{ seen []string }

func (s *textSink) Submit(_ context.Context, b *relay.Batch) error {
	var sb strings.Builder
	for _, sr := range b.Series {
		fmt.Fprintf(&sb, "%v %v;", sr.Labels, sr.Samples)
	}
	s.seen = append(s.seen, sb.String())
	return nil
}
