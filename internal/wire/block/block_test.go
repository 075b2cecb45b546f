package block

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/relay"
)

func sampleBlock() *relay.Block {
	return &relay.Block{
		Tenant: "acme",
		Site:   "plant-7",
		Batches: []*relay.Batch{
			{
				Scrape: true, Job: "node", Instance: "10.0.0.1:9100", Timestamp: 1_700_000_000_000,
				TargetLabels: labels.FromStrings("__address__", "10.0.0.1:9100", "job", "node"),
				Metadata: map[string]relay.Metadata{
					"node_cpu_seconds_total": {Type: "counter", Help: "Seconds the CPUs spent in each mode."},
				},
				Series: []relay.Series{
					{Labels: labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle"),
						Samples: []relay.Sample{{T: 1_700_000_000_000, V: 1234.5}}},
					{Labels: labels.FromStrings("__name__", "weird", "x", "NaN payload"),
						Samples: []relay.Sample{
							{T: 1_700_000_000_000, V: math.Float64frombits(value.StaleNaN)},
							{T: 1_699_999_999_000, V: math.Inf(-1)},
							{T: 1_700_000_001_000, V: math.Float64frombits(0x7ff8000000000abc)},
						}},
				},
			},
			{
				Job: "", Instance: "", Timestamp: 5,
				Series: []relay.Series{
					{Labels: labels.FromStrings("__name__", "up", "job", "rw"), Samples: []relay.Sample{{T: -3, V: 0}}},
				},
			},
		},
	}
}

// sameBits compares blocks with float values compared bit for bit.
func sameBits(t *testing.T, want, got *relay.Block) {
	t.Helper()
	if want.Tenant != got.Tenant || want.Site != got.Site || len(want.Batches) != len(got.Batches) {
		t.Fatalf("block header: want %s/%s/%d, got %s/%s/%d", want.Tenant, want.Site, len(want.Batches), got.Tenant, got.Site, len(got.Batches))
	}
	for i, wb := range want.Batches {
		gb := got.Batches[i]
		if wb.Scrape != gb.Scrape || wb.Job != gb.Job || wb.Instance != gb.Instance || wb.Timestamp != gb.Timestamp {
			t.Fatalf("batch %d header differs: %+v vs %+v", i, wb, gb)
		}
		if !labels.Equal(wb.TargetLabels, gb.TargetLabels) {
			t.Fatalf("batch %d target labels: %s vs %s", i, wb.TargetLabels, gb.TargetLabels)
		}
		if len(wb.Metadata) != 0 || len(gb.Metadata) != 0 {
			if !reflect.DeepEqual(wb.Metadata, gb.Metadata) {
				t.Fatalf("batch %d metadata: %v vs %v", i, wb.Metadata, gb.Metadata)
			}
		}
		if len(wb.Series) != len(gb.Series) {
			t.Fatalf("batch %d: %d series, got %d", i, len(wb.Series), len(gb.Series))
		}
		for j, ws := range wb.Series {
			gs := gb.Series[j]
			if !labels.Equal(ws.Labels, gs.Labels) || len(ws.Samples) != len(gs.Samples) {
				t.Fatalf("series %d/%d: %s vs %s", i, j, ws.Labels, gs.Labels)
			}
			for k, w := range ws.Samples {
				g := gs.Samples[k]
				if w.T != g.T || math.Float64bits(w.V) != math.Float64bits(g.V) {
					t.Fatalf("sample %d/%d/%d: %d %x vs %d %x", i, j, k, w.T, math.Float64bits(w.V), g.T, math.Float64bits(g.V))
				}
			}
			if d := histtest.DiffSamples(ws.Histograms, gs.Histograms); d != "" {
				t.Fatalf("series %d/%d %s: %s", i, j, ws.Labels, d)
			}
			if d := histtest.DiffExemplars(ws.Exemplars, gs.Exemplars); d != "" {
				t.Fatalf("series %d/%d %s: %s", i, j, ws.Labels, d)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	want := sampleBlock()
	got, err := Decode(Encode(nil, want))
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, want, got)
}

// frameBlock is a version 2 block: whole batches and delta frames.
func frameBlock() *relay.Block {
	b := sampleBlock()
	b.Generation = 1<<63 + 5
	b.Frames = [][]byte{[]byte("\x01\x02frame-one"), {}, []byte("frame-three")}
	return b
}

func TestRoundTripFrames(t *testing.T) {
	want := frameBlock()
	data := Encode(nil, want)
	if data[3] != version2 {
		t.Fatalf("block with frames written as version %d", data[3])
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, want, got)
	if got.Generation != want.Generation || fmt.Sprintf("%q", got.Frames) != fmt.Sprintf("%q", want.Frames) {
		t.Fatalf("generation %d frames %q, want %d %q", got.Generation, got.Frames, want.Generation, want.Frames)
	}
	if data := Encode(nil, sampleBlock()); data[3] != version1 {
		t.Fatalf("block without frames written as version %d", data[3])
	}
}

func TestDecodeRejects(t *testing.T) {
	good := Encode(nil, sampleBlock())
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("XXX"), good[3:]...)},
		{"future version", append(append([]byte("ERB"), 9), good[4:]...)},
		{"truncated", good[:len(good)-4]},
		{"garbage body", append([]byte("ERB\x01\x00"), 0xff, 0xff, 0xff)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil, sampleBlock()))
	f.Add(Encode(nil, frameBlock()))
	f.Add([]byte("ERB\x01\x00\x04acme\x01x\x00\x01"))
	f.Add([]byte("ERB\x02\x00\x04acme\x01x\x00\x00\x07\x01\x00"))
	f.Add(Encode(nil, histBlock(rand.New(rand.NewPCG(1, 2)), 3)))
	f.Add(Encode(nil, histBlock(rand.New(rand.NewPCG(3, 4)), 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		blk, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		// Whatever decodes must encode and decode to the same block.
		again, err := Decode(Encode(nil, blk))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		sameBits(t, blk, again)
		if again.Generation != blk.Generation || fmt.Sprintf("%q", again.Frames) != fmt.Sprintf("%q", blk.Frames) {
			t.Fatalf("frames differ after re-encoding")
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	blk := benchBlock(10000)
	n := blk.Samples()
	var out []byte
	b.ResetTimer()
	for b.Loop() {
		out = Encode(out[:0], blk)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
	b.ReportMetric(float64(len(out))/float64(n), "bytes/sample")
}

func BenchmarkDecode(b *testing.B) {
	blk := benchBlock(10000)
	n := blk.Samples()
	data := Encode(nil, blk)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}

func benchBlock(series int) *relay.Block {
	bt := &relay.Batch{Scrape: true, Job: "node", Instance: "host:9100", Timestamp: 1_700_000_000_000}
	for i := 0; i < series; i++ {
		bt.Series = append(bt.Series, relay.Series{
			Labels: labels.FromStrings("__name__", "node_metric_total", "cpu", string(rune('a'+i%26)), "id", labelValue(i),
				"instance", "host:9100", "job", "node"),
			Samples: []relay.Sample{{T: bt.Timestamp, V: float64(i) * 1.5}},
		})
	}
	return &relay.Block{Tenant: "acme", Site: "plant-7", Batches: []*relay.Batch{bt}}
}

func labelValue(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
