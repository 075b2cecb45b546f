package block

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/relay"
)

// histBlock is a random block whose series carry float samples, histogram
// samples of both kinds (staleness markers and custom buckets included) and
// exemplars, in random mixtures.
func histBlock(r *rand.Rand, nbatches int) *relay.Block {
	blk := &relay.Block{Tenant: "acme", Site: "plant-7"}
	for b := range nbatches {
		ts := 1_700_000_000_000 + int64(b)*15000
		bt := &relay.Batch{Scrape: b%2 == 0, Job: "j", Instance: fmt.Sprint("i", b), Timestamp: ts,
			Metadata: map[string]relay.Metadata{"h": {Type: "histogram", Help: "a native histogram"}}}
		for s := range 1 + r.IntN(6) {
			sr := relay.Series{Labels: labels.FromStrings("__name__", "h", "s", fmt.Sprint(s))}
			for range r.IntN(2) {
				sr.Samples = append(sr.Samples, relay.Sample{T: ts, V: histtest.Float(r)})
			}
			for k := range r.IntN(4) + b2i(b == 0 && s == 0) {
				sr.Histograms = append(sr.Histograms, histtest.ValidSample(r, ts+int64(k)*1000-int64(r.IntN(3000))))
			}
			for range r.IntN(4) {
				sr.Exemplars = append(sr.Exemplars, histtest.Exemplar(r, ts))
			}
			bt.Series = append(bt.Series, sr)
		}
		blk.Batches = append(blk.Batches, bt)
	}
	return blk
}

// TestRoundTripHistograms encodes random blocks of histograms and exemplars
// and checks each decodes to the same block, every field bit for bit.
func TestRoundTripHistograms(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for i := range 300 {
		want := histBlock(r, 1+r.IntN(3))
		if i%3 == 0 {
			want.Generation, want.Frames = uint64(i), [][]byte{[]byte("f")}
		}
		data := Encode(nil, want)
		if data[3] != version3 {
			t.Fatalf("block with histograms written as version %d", data[3])
		}
		got, err := Decode(data)
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		sameBits(t, want, got)
		if got.Generation != want.Generation || fmt.Sprintf("%q", got.Frames) != fmt.Sprintf("%q", want.Frames) {
			t.Fatalf("block %d: frames differ", i)
		}
	}
}

// TestDecodeRejectsHistograms cuts and flips a version 3 block: every
// result is an error or a block, never a panic, and a truncation is an error.
func TestDecodeRejectsHistograms(t *testing.T) {
	good := Encode(nil, histBlock(rand.New(rand.NewPCG(1, 1)), 2))
	raw, err := decoder.DecodeAll(good[headerSize:], nil)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(raw); cut += 1 + cut/16 {
		data := append([]byte("ERB\x03\x00"), raw[:cut]...)
		if _, err := Decode(data); err == nil {
			t.Fatalf("body cut at %d of %d decoded", cut, len(raw))
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDecodeRefusesInvalidHistogram: a block holding a histogram
// Prometheus' TSDB would refuse is corrupt, so no cloud output ever meets
// one (the edge takes in only valid ones; package deltaconv refuses the
// same in a delta frame).
func TestDecodeRefusesInvalidHistogram(t *testing.T) {
	bad := &histogram.Histogram{Count: 1, PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1}}
	blk := &relay.Block{Tenant: "acme", Site: "s", Batches: []*relay.Batch{{Scrape: true, Job: "j", Instance: "i", Timestamp: 1,
		Series: []relay.Series{{Labels: labels.FromStrings("__name__", "h"), Histograms: []relay.HistogramSample{{T: 1, H: bad}}}}}}}
	if _, err := Decode(Encode(nil, blk)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "spans need 3 buckets") {
		t.Fatalf("block: %v", err)
	}
}
