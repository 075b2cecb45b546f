package deltaconv

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// FuzzBatchOf feeds the cloud's side of a delta frame — Apply, then
// BatchOf — with bytes from an edge: whatever a frame holds, BatchOf
// returns a batch or an error wrapping block.ErrCorrupt, never a panic.
func FuzzBatchOf(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	enc := delta.NewEncoder(1)
	var s delta.Scrape
	var kb KeyBuffer
	for round := range 3 {
		ts := 1_700_000_000_000 + int64(round)*15000
		b := &relay.Batch{Scrape: true, Job: "j", Instance: "i", Timestamp: ts,
			TargetLabels: labels.FromStrings("env", "prod"),
			Metadata:     map[string]relay.Metadata{"m": {Type: "gauge", Help: "a gauge"}}}
		b.Series = append(b.Series,
			relay.Series{Labels: labels.FromStrings("__name__", "m", "a", "1"), Samples: []relay.Sample{{T: ts, V: float64(round)}},
				Exemplars: []relay.Exemplar{histtest.Exemplar(r, ts)}},
			relay.Series{Labels: labels.FromStrings("__name__", "h"), Histograms: []relay.HistogramSample{histtest.ValidSample(r, ts)}})
		if !ScrapeOf(b, &s, labels.FromStrings("site", "s1"), &kb) {
			f.Fatal("scrape refused")
		}
		f.Add(enc.AppendFrame(nil, &s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		got, err := delta.NewDecoder().Apply(frame)
		if err != nil {
			return
		}
		if _, err := BatchOf(got); err != nil && !errors.Is(err, block.ErrCorrupt) {
			t.Fatalf("error does not wrap block.ErrCorrupt: %v", err)
		}
	})
}
