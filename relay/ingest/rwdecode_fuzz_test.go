package ingest

import (
	"bytes"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/relay"
)

// FuzzRemoteWriteBody feeds untrusted bytes to the remote_write decoder, both
// as a snappy body (the full path) and as raw protobuf, as 1.0 and 2.0: it
// must never panic, and whatever it accepts must hold valid, sorted labels.
func FuzzRemoteWriteBody(f *testing.F) {
	v1 := marshalV1(f, &prompb.WriteRequest{
		Timeseries: []prompb.TimeSeries{v1Series([]prompb.Sample{{Value: 1, Timestamp: 2}}, "b", "2", "__name__", "m", "a", "1")},
		Metadata:   []prompb.MetricMetadata{{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "m", Help: "h"}},
	})
	v2 := marshalV2(f, v2Request([]string{"__name__", "m", "x", "y"}, []writev2.Sample{{Value: 1, Timestamp: 2}},
		writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: 3}))
	r := rand.New(rand.NewPCG(8, 9))
	hseries := []relay.Series{histSeries(r, 0), histSeries(r, 1), histSeries(r, 2)}
	h1, h2 := marshalV1(f, v1Request(hseries)), marshalV2(f, v2Request2(hseries))
	for _, seed := range [][]byte{v1, v2, snappy.Encode(nil, v1), snappy.Encode(nil, v2), nil, {0x0a, 0x05, 'a'},
		h1, h2, snappy.Encode(nil, h1), snappy.Encode(nil, h2)} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, body []byte, isV2 bool) {
		v := rwV1
		if isV2 {
			v = rwV2
		}
		if raw, _, _, err := decompress(body, nil, 1<<20); err == nil {
			checkDecoded(t, raw, v)
		}
		checkDecoded(t, body, v)
	})
}

func checkDecoded(t *testing.T, raw []byte, v rwVersion) {
	// The batch must not refer to the body, whose buffer the handler
	// reuses: the copy decoded is overwritten before the comparison.
	scratch := bytes.Clone(raw)
	b, stats, err := decodeRemoteWrite(scratch, v, 1, nil)
	for i := range scratch {
		scratch[i] = 0xa5
	}
	if v == rwV1 {
		compareWithReference(t, raw, b, stats, err)
		// Decoded again into the memory of the first decoding, as the
		// handler does with ReuseBatches.
		if err == nil {
			var pool sync.Pool
			reuse := new(batchBufs)
			first, _, _ := decodeRemoteWrite(bytes.Clone(raw), v, 1, reuse)
			reuse.put(&pool, first)
			again := bytes.Clone(raw)
			b2, stats2, err2 := decodeRemoteWrite(again, v, 1, reuse)
			for i := range again {
				again[i] = 0xa5
			}
			compareWithReference(t, raw, b2, stats2, err2)
		}
	}
	if err != nil {
		if _, ok := err.(*badRequestError); !ok {
			t.Fatalf("error %v is not a bad request", err)
		}
		return
	}
	for _, s := range b.Series {
		if s.Labels.Get(model.MetricNameLabel) == "" {
			t.Fatalf("accepted series without a name: %s", s.Labels)
		}
		if name, dup := s.Labels.HasDuplicateLabelNames(); dup {
			t.Fatalf("accepted duplicate label %q in %s", name, s.Labels)
		}
		prev := ""
		s.Labels.Range(func(l labels.Label) {
			if l.Name == "" || l.Value == "" || l.Name < prev {
				t.Fatalf("accepted bad or unsorted label %q=%q in %s", l.Name, l.Value, s.Labels)
			}
			prev = l.Name
		})
		if len(s.Samples)+len(s.Histograms)+len(s.Exemplars) == 0 {
			t.Fatalf("accepted series without samples: %s", s.Labels)
		}
		for _, h := range s.Histograms {
			if (h.H == nil) == (h.FH == nil) {
				t.Fatalf("histogram sample holds neither or both kinds in %s", s.Labels)
			}
		}
		for i := 1; i < len(s.Histograms); i++ {
			if s.Histograms[i].T < s.Histograms[i-1].T {
				t.Fatalf("histograms out of order in %s", s.Labels)
			}
		}
		for i := 1; i < len(s.Samples); i++ {
			if s.Samples[i].T < s.Samples[i-1].T {
				t.Fatalf("samples out of order in %s", s.Labels)
			}
		}
	}
}

// compareWithReference checks the wire decoder of remote_write 1.0 against
// the generated protobuf code.
func compareWithReference(t *testing.T, raw []byte, got *relay.Batch, gotStats decodeStats, gotErr error) {
	want, wantStats, wantErr := decodeV1Reference(raw, 1)
	switch {
	case gotErr != nil && wantErr == nil:
		// Field numbers past 2^29-1 are not protobuf; the generated code
		// skips them, the wire decoder refuses them.
		if !strings.Contains(gotErr.Error(), "invalid field number") {
			t.Fatalf("decodeV1 error %v, reference none", gotErr)
		}
		return
	case gotErr == nil && wantErr != nil:
		t.Fatalf("decodeV1 accepted what the reference refuses: %v", wantErr)
	case gotErr != nil:
		return
	}
	if gotStats != wantStats {
		t.Fatalf("stats %+v, reference %+v", gotStats, wantStats)
	}
	if len(got.Series) != len(want.Series) {
		t.Fatalf("%d series, reference %d", len(got.Series), len(want.Series))
	}
	for i := range got.Series {
		g, w := got.Series[i], want.Series[i]
		if !labels.Equal(g.Labels, w.Labels) || len(g.Samples) != len(w.Samples) {
			t.Fatalf("series %d: %s %v, reference %s %v", i, g.Labels, g.Samples, w.Labels, w.Samples)
		}
		for j := range g.Samples {
			if g.Samples[j].T != w.Samples[j].T || math.Float64bits(g.Samples[j].V) != math.Float64bits(w.Samples[j].V) {
				t.Fatalf("series %d sample %d: %v, reference %v", i, j, g.Samples[j], w.Samples[j])
			}
		}
		if d := histtest.DiffSamples(w.Histograms, g.Histograms); d != "" {
			t.Fatalf("series %d: %s", i, d)
		}
		if d := histtest.DiffExemplars(w.Exemplars, g.Exemplars); d != "" {
			t.Fatalf("series %d: %s", i, d)
		}
	}
	if !maps.Equal(got.Metadata, want.Metadata) {
		t.Fatalf("metadata %v, reference %v", got.Metadata, want.Metadata)
	}
}
