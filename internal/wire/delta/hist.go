package delta

import (
	"encoding/binary"
	"slices"
	"strings"
)

// Histogram is a native histogram sample, mirroring Prometheus'
// model/histogram.Histogram (integer counts) and FloatHistogram (Float set)
// field for field. Floats are held as their IEEE bits, so NaN payloads (the
// staleness marker in Sum) survive exactly.
type Histogram struct {
	// Float is set for a float histogram: ZeroCount, Count and the buckets
	// are float64 bits. Clear: ZeroCount and Count are counts and the
	// buckets are Prometheus' delta-coded int64 bucket counts (as uint64).
	Float bool
	// ResetHint is the counter reset hint (0 unknown, 1 reset, 2 not a
	// reset, 3 gauge; other values are carried as they are).
	ResetHint                        uint8
	Schema                           int32
	ZeroThreshold                    uint64 // float64 bits
	ZeroCount, Count                 uint64
	Sum                              uint64 // float64 bits
	PositiveSpans, NegativeSpans     []Span
	PositiveBuckets, NegativeBuckets []uint64
	// CustomValues holds the bucket bounds of the custom-buckets schema
	// (-53), as float64 bits.
	CustomValues []uint64
}

// Span is a run of Length consecutive buckets, starting Offset buckets
// after the end of the previous span (or at bucket index Offset).
type Span struct {
	Offset int32
	Length uint32
}

// Exemplar is an exemplar of a series.
type Exemplar struct {
	// Labels is the exemplar's label set in canonical form (see AppendLabel).
	Labels string
	// V holds the value's float64 bits; T the timestamp in milliseconds,
	// which is meaningful to the sender only when HasTs is set, and is
	// carried either way.
	V     uint64
	T     int64
	HasTs bool
}

// Equal reports whether h and o are the same histogram, every field equal.
func (h *Histogram) Equal(o *Histogram) bool {
	if h == nil || o == nil {
		return h == o
	}
	return h.Float == o.Float && h.ResetHint == o.ResetHint && h.Schema == o.Schema &&
		h.ZeroThreshold == o.ZeroThreshold && h.ZeroCount == o.ZeroCount && h.Count == o.Count &&
		h.Sum == o.Sum && h.sameLayout(o) &&
		slices.Equal(h.PositiveBuckets, o.PositiveBuckets) && slices.Equal(h.NegativeBuckets, o.NegativeBuckets)
}

// sameLayout reports whether o has h's kind, schema, zero threshold, spans,
// custom values and bucket counts: then o is coded as a change to h.
func (h *Histogram) sameLayout(o *Histogram) bool {
	return h.Float == o.Float && h.Schema == o.Schema && h.ZeroThreshold == o.ZeroThreshold &&
		slices.Equal(h.PositiveSpans, o.PositiveSpans) && slices.Equal(h.NegativeSpans, o.NegativeSpans) &&
		slices.Equal(h.CustomValues, o.CustomValues) &&
		len(h.PositiveBuckets) == len(o.PositiveBuckets) && len(h.NegativeBuckets) == len(o.NegativeBuckets)
}

// Clone returns a deep copy of h (nil for nil).
func (h *Histogram) Clone() *Histogram {
	if h == nil {
		return nil
	}
	c := &Histogram{}
	c.copyFrom(h)
	return c
}

// copyFrom makes h a deep copy of o, reusing h's slices.
func (h *Histogram) copyFrom(o *Histogram) {
	*h = Histogram{
		Float: o.Float, ResetHint: o.ResetHint, Schema: o.Schema, ZeroThreshold: o.ZeroThreshold,
		ZeroCount: o.ZeroCount, Count: o.Count, Sum: o.Sum,
		PositiveSpans:   appendOrNil(h.PositiveSpans[:0], o.PositiveSpans),
		NegativeSpans:   appendOrNil(h.NegativeSpans[:0], o.NegativeSpans),
		PositiveBuckets: appendOrNil(h.PositiveBuckets[:0], o.PositiveBuckets),
		NegativeBuckets: appendOrNil(h.NegativeBuckets[:0], o.NegativeBuckets),
		CustomValues:    appendOrNil(h.CustomValues[:0], o.CustomValues),
	}
}

func appendOrNil[T any](dst, src []T) []T {
	if len(src) == 0 {
		return nil
	}
	return append(dst, src...)
}

// cloneExemplars copies es with its label strings (nil for none).
func cloneExemplars(es []Exemplar) []Exemplar {
	if len(es) == 0 {
		return nil
	}
	out := make([]Exemplar, len(es))
	for i, e := range es {
		e.Labels = strings.Clone(e.Labels)
		out[i] = e
	}
	return out
}

// Histogram record modes (bits 0-1 of an extra entry's "what" byte).
const (
	histUnchanged = 0 // the slot's histogram state is unchanged
	histNone      = 1 // the slot's sample is a float: it holds no histogram
	histAbsolute  = 2 // a histogram follows in full
	histChange    = 3 // a histogram follows as a change to the slot's previous one
	whatExemplars = 1 << 2
	whatMask      = 3 | whatExemplars
)

func appendSpans(dst []byte, spans []Span) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	for _, s := range spans {
		dst = binary.AppendVarint(dst, int64(s.Offset))
		dst = binary.AppendUvarint(dst, uint64(s.Length))
	}
	return dst
}

func appendU64s(dst []byte, vs []uint64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	for _, v := range vs {
		dst = binary.LittleEndian.AppendUint64(dst, v)
	}
	return dst
}

// appendBuckets writes bucket counts: zigzag varints of the int64 deltas
// for an integer histogram, 8 bytes of float bits for a float one.
func appendBuckets(dst []byte, float bool, bs []uint64) []byte {
	if float {
		return appendU64s(dst, bs)
	}
	dst = binary.AppendUvarint(dst, uint64(len(bs)))
	for _, b := range bs {
		dst = binary.AppendVarint(dst, int64(b))
	}
	return dst
}

// appendHistogram writes h in full.
func appendHistogram(dst []byte, h *Histogram) []byte {
	var flags byte
	if h.Float {
		flags = 1
	}
	dst = append(dst, flags, h.ResetHint)
	dst = binary.AppendVarint(dst, int64(h.Schema))
	dst = binary.LittleEndian.AppendUint64(dst, h.ZeroThreshold)
	if h.Float {
		dst = binary.LittleEndian.AppendUint64(dst, h.ZeroCount)
		dst = binary.LittleEndian.AppendUint64(dst, h.Count)
	} else {
		dst = binary.AppendUvarint(dst, h.ZeroCount)
		dst = binary.AppendUvarint(dst, h.Count)
	}
	dst = binary.LittleEndian.AppendUint64(dst, h.Sum)
	dst = appendSpans(dst, h.PositiveSpans)
	dst = appendSpans(dst, h.NegativeSpans)
	dst = appendBuckets(dst, h.Float, h.PositiveBuckets)
	dst = appendBuckets(dst, h.Float, h.NegativeBuckets)
	return appendU64s(dst, h.CustomValues)
}

// appendChange writes h as a change to old, which has h's layout: the
// reset hint, then each count and the sum as a difference (integer: zigzag
// varint of the wrapping difference; float: uvarint of the XOR of the bits).
func appendChange(dst []byte, old, h *Histogram) []byte {
	dst = append(dst, h.ResetHint)
	diff := func(dst []byte, o, n uint64, float bool) []byte {
		if float {
			return binary.AppendUvarint(dst, o^n)
		}
		return binary.AppendVarint(dst, int64(n-o))
	}
	dst = diff(dst, old.ZeroCount, h.ZeroCount, h.Float)
	dst = diff(dst, old.Count, h.Count, h.Float)
	dst = binary.AppendUvarint(dst, old.Sum^h.Sum)
	for i, b := range h.PositiveBuckets {
		dst = diff(dst, old.PositiveBuckets[i], b, h.Float)
	}
	for i, b := range h.NegativeBuckets {
		dst = diff(dst, old.NegativeBuckets[i], b, h.Float)
	}
	return dst
}

// appendExemplars writes a slot's exemplars; timestamps against frameTS.
func appendExemplars(dst []byte, es []Exemplar, frameTS int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	for i := range es {
		e := &es[i]
		dst = appendString(dst, e.Labels)
		dst = binary.LittleEndian.AppendUint64(dst, e.V)
		var flags byte
		if e.HasTs {
			flags = 1
		}
		dst = append(dst, flags)
		dst = binary.AppendVarint(dst, e.T-frameTS)
	}
	return dst
}

// appendExtra writes one extra entry for slot gap; old is the slot's
// previous histogram (nil: none).
func appendExtra(dst []byte, gap uint64, old, h *Histogram, exChanged bool, es []Exemplar, frameTS int64) []byte {
	dst = binary.AppendUvarint(dst, gap)
	var what byte
	switch {
	case h.Equal(old):
		what = histUnchanged
	case h == nil:
		what = histNone
	case old != nil && old.sameLayout(h):
		what = histChange
	default:
		what = histAbsolute
	}
	if exChanged {
		what |= whatExemplars
	}
	dst = append(dst, what)
	switch what &^ whatExemplars {
	case histAbsolute:
		dst = appendHistogram(dst, h)
	case histChange:
		dst = appendChange(dst, old, h)
	}
	if exChanged {
		dst = appendExemplars(dst, es, frameTS)
	}
	return dst
}
