package delta

import (
	"fmt"
	"testing"
)

// benchScrapes returns n consecutive scrapes of one target of size series.
func benchScrapes(n, size int) []*Scrape {
	g := newGen(21, 1, size)
	out := make([]*Scrape, n)
	for i := range out {
		g.ts += 15000
		out[i] = g.scrape(0)
	}
	return out
}

func BenchmarkEncode(b *testing.B) { benchEncode(b, Version) }

// BenchmarkEncodeVersion3 is BenchmarkEncode writing frames of version 3.
func BenchmarkEncodeVersion3(b *testing.B) { benchEncode(b, Version3) }

func benchEncode(b *testing.B, version int) {
	ss := benchScrapes(32, 10000)
	enc := NewEncoder(1)
	enc.SetVersion(version)
	var buf []byte
	for _, s := range ss { // warm up: dictionary and scratch in place
		buf = enc.AppendFrame(buf[:0], s)
	}
	runEncode(b, ss, func(int) *Encoder { return enc })
}

// runEncode encodes ss in turn b.N times with the encoder encoder(i)
// returns for the i-th and reports time and bytes per sample.
func runEncode(b *testing.B, ss []*Scrape, encoder func(i int) *Encoder) {
	var buf []byte
	samples, bytes := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := ss[i%len(ss)]
		buf = encoder(i).AppendFrame(buf[:0], s)
		samples += len(s.Series)
		bytes += len(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
	b.ReportMetric(float64(bytes)/float64(samples), "B/sample")
}

func BenchmarkDecode(b *testing.B) { benchDecode(b, Version) }

// BenchmarkDecodeVersion3 is BenchmarkDecode of frames of version 3.
func BenchmarkDecodeVersion3(b *testing.B) { benchDecode(b, Version3) }

func benchDecode(b *testing.B, version int) {
	ss := benchScrapes(32, 10000)
	enc := NewEncoder(1)
	enc.SetVersion(version)
	frames := make([][]byte, len(ss))
	for i, s := range ss {
		frames[i] = enc.AppendFrame(nil, s)
	}
	dec := NewDecoder()
	samples := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := dec.Apply(frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		samples += len(s.Series)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
}

func TestEncodeSteadyStateAllocatesNothing(t *testing.T) {
	first := benchScrapes(1, 2000)[0]
	steady := *first // the same series, new values each frame: no churn
	steady.Series = append([]Series(nil), first.Series...)
	enc := NewEncoder(1)
	buf := enc.AppendFrame(nil, first)
	i := 0
	allocs := testing.AllocsPerRun(50, func() {
		i++
		for j := range steady.Series {
			steady.Series[j].V = uint64(i * j)
		}
		steady.Timestamp += 15000
		buf = enc.AppendFrame(buf[:0], &steady)
	})
	if allocs != 0 {
		t.Fatalf("steady AppendFrame allocated %v times per frame, want 0", allocs)
	}
}

// histScrapes returns n consecutive scrapes of one target of size native
// histograms (20 buckets each), where each scrape a few buckets of each grow
// and one series in ten gets a new exemplar.
func histScrapes(n, size int) []*Scrape {
	out := make([]*Scrape, n)
	hs := make([]*Histogram, size)
	for i := range hs {
		h := &Histogram{Schema: 3, ZeroThreshold: 0x3810000000000000, PositiveSpans: []Span{{Offset: -5, Length: 20}}}
		for j := range 20 {
			h.PositiveBuckets = append(h.PositiveBuckets, uint64(j%4))
		}
		hs[i] = h
	}
	for k := range out {
		s := &Scrape{Target: "t", Timestamp: int64(k) * 15000}
		for i, h := range hs {
			h = h.Clone()
			h.Count += uint64(i%3 + k%2)
			h.Sum ^= uint64(k + i)
			h.PositiveBuckets[(i+k)%20]++
			hs[i] = h
			s.Series = append(s.Series, Series{Labels: string(AppendLabel(nil, "le_id", string(rune('a'+i%26))+string(rune('a'+i/26)))), T: s.Timestamp})
			x := Extra{Series: i, H: h}
			if (i+k)%10 == 0 {
				x.Exemplars = []Exemplar{{Labels: string(AppendLabel(nil, "trace_id", string(rune('a'+k%26)))), V: uint64(k), T: s.Timestamp, HasTs: true}}
			}
			s.Extras = append(s.Extras, x)
		}
		out[k] = s
	}
	return out
}

// BenchmarkEncodeHistograms reports what a native histogram costs in an
// incremental frame when a few of its buckets grow each scrape.
func BenchmarkEncodeHistograms(b *testing.B) {
	ss := histScrapes(32, 500)
	enc := NewEncoder(1)
	var buf []byte
	for _, s := range ss {
		buf = enc.AppendFrame(buf[:0], s)
	}
	hists, bytes := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := ss[i%len(ss)]
		buf = enc.AppendFrame(buf[:0], s)
		hists += len(s.Series)
		bytes += len(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(hists), "ns/histogram")
	b.ReportMetric(float64(bytes)/float64(hists), "B/histogram")
}

// counterScrapes returns n scrapes of a target of size series that grow
// at a steady rate each, as relay/synth's counters and histogram buckets
// do: integers by i+1, decimals by 0.5.
func counterScrapes(n, size int) []*Scrape {
	out := make([]*Scrape, n)
	for k := range out {
		out[k] = steadyScrape(int64(k), size/2)
	}
	return out
}

// BenchmarkEncodeCounters encodes steadily growing counters in versions 2
// and 3 (in version 3 they have no records once their trend is steady).
func BenchmarkEncodeCounters(b *testing.B) {
	for _, v := range []int{Version, Version3} {
		b.Run(fmt.Sprint("v", v), func(b *testing.B) {
			ss := counterScrapes(64, 10000)
			var enc *Encoder
			runEncode(b, ss, func(i int) *Encoder {
				if i%len(ss) == 0 { // a new generation: values only grow within one
					enc = NewEncoder(uint64(i + 1))
					enc.SetVersion(v)
				}
				return enc
			})
		})
	}
}

// BenchmarkDecodeCounters decodes what BenchmarkEncodeCounters encodes.
func BenchmarkDecodeCounters(b *testing.B) {
	for _, v := range []int{Version, Version3} {
		b.Run(fmt.Sprint("v", v), func(b *testing.B) {
			ss := counterScrapes(64, 10000)
			enc := NewEncoder(1)
			enc.SetVersion(v)
			frames := make([][]byte, len(ss))
			for i, s := range ss {
				frames[i] = enc.AppendFrame(nil, s)
			}
			samples := 0
			var dec *Decoder
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if i%len(frames) == 0 {
					dec = NewDecoder()
				}
				s, err := dec.Apply(frames[i%len(frames)])
				if err != nil {
					b.Fatal(err)
				}
				samples += len(s.Series)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
		})
	}
}
