package block

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/prometheus/prometheus/model/histogram"

	"github.com/edgerelay/edgerelay/relay"
)

// Histogram record kinds (first byte of a histogram sample in a version 3
// series record).
const (
	histInt   = 0
	histFloat = 1
)

// Minimal encoded sizes, for bounding counts while decoding.
const (
	minHistRecord     = 1 + 1 + 1 + 1 + 8 + 1 + 1 + 8 + 5 // Δt kind hint schema zt zc count sum 5 lengths
	minExemplarRecord = 1 + 8 + 1 + 1                     // nlabels value Δt flags
)

// ValidHistogram checks a histogram sample as Prometheus' TSDB does before
// it stores one (schema, spans against buckets, counts, custom bounds). The
// edge takes in only histograms that pass, and Decode and BatchOf refuse a
// block or frame holding one that does not, so no output of the cloud ever
// meets one.
func ValidHistogram(hs *relay.HistogramSample) error {
	switch {
	case hs.H != nil && hs.FH == nil:
		return hs.H.Validate()
	case hs.FH != nil && hs.H == nil:
		return hs.FH.Validate()
	}
	return errors.New("a histogram sample holds neither or both of H and FH")
}

// hasExtras reports whether any series of b carries histogram samples or
// exemplars, which only a version 3 block can hold.
func hasExtras(b *relay.Block) bool {
	for _, bt := range b.Batches {
		for i := range bt.Series {
			if len(bt.Series[i].Histograms) > 0 || len(bt.Series[i].Exemplars) > 0 {
				return true
			}
		}
	}
	return false
}

// appendExtras writes a series' histogram samples and exemplars (version 3).
func appendExtras(dst []byte, t *strtab, s *relay.Series, batchTS int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.Histograms)))
	prev := batchTS
	for i := range s.Histograms {
		hs := &s.Histograms[i]
		dst = binary.AppendVarint(dst, hs.T-prev)
		prev = hs.T
		switch {
		case hs.H != nil && hs.FH == nil:
			dst = appendIntHistogram(dst, hs.H)
		case hs.FH != nil && hs.H == nil:
			dst = appendFloatHistogram(dst, hs.FH)
		default:
			panic("BUG: a histogram sample holds neither or both of H and FH")
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(s.Exemplars)))
	for i := range s.Exemplars {
		e := &s.Exemplars[i]
		dst = appendLabels(dst, t, e.Labels)
		dst = appendFloat(dst, e.Value)
		dst = binary.AppendVarint(dst, e.Ts-batchTS)
		var flags byte
		if e.HasTs {
			flags = 1
		}
		dst = append(dst, flags)
	}
	return dst
}

func appendFloat(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}

func appendSpans(dst []byte, spans []histogram.Span) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	for _, sp := range spans {
		dst = binary.AppendVarint(dst, int64(sp.Offset))
		dst = binary.AppendUvarint(dst, uint64(sp.Length))
	}
	return dst
}

func appendCustom(dst []byte, cv []float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(cv)))
	for _, v := range cv {
		dst = appendFloat(dst, v)
	}
	return dst
}

func appendIntHistogram(dst []byte, h *histogram.Histogram) []byte {
	dst = append(dst, histInt, byte(h.CounterResetHint))
	dst = binary.AppendVarint(dst, int64(h.Schema))
	dst = appendFloat(dst, h.ZeroThreshold)
	dst = binary.AppendUvarint(dst, h.ZeroCount)
	dst = binary.AppendUvarint(dst, h.Count)
	dst = appendFloat(dst, h.Sum)
	dst = appendSpans(dst, h.PositiveSpans)
	dst = appendSpans(dst, h.NegativeSpans)
	for _, bs := range [2][]int64{h.PositiveBuckets, h.NegativeBuckets} {
		dst = binary.AppendUvarint(dst, uint64(len(bs)))
		for _, b := range bs {
			dst = binary.AppendVarint(dst, b)
		}
	}
	return appendCustom(dst, h.CustomValues)
}

func appendFloatHistogram(dst []byte, h *histogram.FloatHistogram) []byte {
	dst = append(dst, histFloat, byte(h.CounterResetHint))
	dst = binary.AppendVarint(dst, int64(h.Schema))
	dst = appendFloat(dst, h.ZeroThreshold)
	dst = appendFloat(dst, h.ZeroCount)
	dst = appendFloat(dst, h.Count)
	dst = appendFloat(dst, h.Sum)
	dst = appendSpans(dst, h.PositiveSpans)
	dst = appendSpans(dst, h.NegativeSpans)
	for _, bs := range [2][]float64{h.PositiveBuckets, h.NegativeBuckets} {
		dst = binary.AppendUvarint(dst, uint64(len(bs)))
		for _, b := range bs {
			dst = appendFloat(dst, b)
		}
	}
	return appendCustom(dst, h.CustomValues)
}

// extras reads what appendExtras wrote into s.
func (d *reader) extras(s *relay.Series, batchTS int64) {
	nh := d.Count(minHistRecord)
	if nh > 0 {
		s.Histograms = make([]relay.HistogramSample, 0, nh)
	}
	prev := batchTS
	for i := 0; i < nh && d.Err == nil; i++ {
		prev += d.Varint()
		hs := relay.HistogramSample{T: prev}
		switch kind := d.Byte(); kind {
		case histInt:
			hs.H = d.intHistogram()
		case histFloat:
			hs.FH = d.floatHistogram()
		default:
			d.Fail("unknown histogram kind %d", kind)
		}
		if d.Err == nil {
			if err := ValidHistogram(&hs); err != nil {
				d.Fail("histogram sample %d of %s: %v", i, s.Labels, err)
			}
		}
		s.Histograms = append(s.Histograms, hs)
	}
	ne := d.Count(minExemplarRecord)
	if ne > 0 {
		s.Exemplars = make([]relay.Exemplar, 0, ne)
	}
	for i := 0; i < ne && d.Err == nil; i++ {
		e := relay.Exemplar{Labels: d.labels(), Value: d.float(), Ts: batchTS + d.Varint()}
		switch flags := d.Byte(); flags {
		case 0, 1:
			e.HasTs = flags == 1
		default:
			d.Fail("bad exemplar flags %#x", flags)
		}
		s.Exemplars = append(s.Exemplars, e)
	}
}

func (d *reader) float() float64 { return math.Float64frombits(d.Uint64("float")) }

// header reads the fields both histogram kinds share up to the counts.
func (d *reader) histHeader() (hint histogram.CounterResetHint, schema int32, zt float64) {
	h := d.Byte() // carried as it is, as Prometheus' types hold any byte
	s := d.Varint()
	if s != int64(int32(s)) {
		d.Fail("schema %d out of range", s)
	}
	return histogram.CounterResetHint(h), int32(s), d.float()
}

func (d *reader) spans() []histogram.Span {
	n := d.Count(2)
	if n == 0 {
		return nil
	}
	out := make([]histogram.Span, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		off := d.Varint()
		l := d.Uvarint()
		if off != int64(int32(off)) || l != uint64(uint32(l)) {
			d.Fail("span out of range")
		}
		out = append(out, histogram.Span{Offset: int32(off), Length: uint32(l)})
	}
	return out
}

func (d *reader) custom() []float64 {
	n := d.Count(8)
	if n == 0 {
		return nil
	}
	out := make([]float64, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		out = append(out, d.float())
	}
	return out
}

func (d *reader) intHistogram() *histogram.Histogram {
	h := &histogram.Histogram{}
	h.CounterResetHint, h.Schema, h.ZeroThreshold = d.histHeader()
	h.ZeroCount = d.Uvarint()
	h.Count = d.Uvarint()
	h.Sum = d.float()
	h.PositiveSpans = d.spans()
	h.NegativeSpans = d.spans()
	for _, bs := range [2]*[]int64{&h.PositiveBuckets, &h.NegativeBuckets} {
		if n := d.Count(1); n > 0 {
			*bs = make([]int64, 0, n)
			for i := 0; i < n && d.Err == nil; i++ {
				*bs = append(*bs, d.Varint())
			}
		}
	}
	h.CustomValues = d.custom()
	return h
}

func (d *reader) floatHistogram() *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{}
	h.CounterResetHint, h.Schema, h.ZeroThreshold = d.histHeader()
	h.ZeroCount = d.float()
	h.Count = d.float()
	h.Sum = d.float()
	h.PositiveSpans = d.spans()
	h.NegativeSpans = d.spans()
	for _, bs := range [2]*[]float64{&h.PositiveBuckets, &h.NegativeBuckets} {
		if n := d.Count(8); n > 0 {
			*bs = make([]float64, 0, n)
			for i := 0; i < n && d.Err == nil; i++ {
				*bs = append(*bs, d.float())
			}
		}
	}
	h.CustomValues = d.custom()
	return h
}
