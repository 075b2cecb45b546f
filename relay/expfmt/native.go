package expfmt

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// NativeHeader is the first line of the native form: what the text format
// 0.0.4 cannot hold (native histograms and exemplars), one record a line,
// every field exact. docs/protocol.md describes it; ParseNative reads it.
//
//	# edgerelay native 1
//	H <series> t=<ms> schema=<int> zt=<float> zc=<uint> count=<uint> sum=<float> hint=<hint> ps=<spans> pd=<ints> ns=<spans> nd=<ints> cv=<floats>
//	FH <series> t=<ms> schema=<int> zt=<float> zc=<float> count=<float> sum=<float> hint=<hint> ps=<spans> pb=<floats> ns=<spans> nb=<floats> cv=<floats>
//	E <series> l={<labels>} v=<float>[ t=<ms>]
//
// <series> is written as in the text format (name{label="value",...}, or
// {"name",...} for a name that is not a legacy one) but never escaped to
// legacy names, and with invalid UTF-8 bytes in quoted strings written as
// \xHH, so labels read back byte for byte. Lists are comma-separated and
// may be empty; spans are offset:length; pd and nd are bucket counts as
// Prometheus keeps them in integer histograms (the first absolute, each
// next a delta to the one before). Floats are spelled as in the text
// format; a NaN other than Go's math.NaN() is written NaN(0x<16 hex digits
// of its bits>). hint is unknown, reset, notreset or gauge.
const NativeHeader = "# edgerelay native 1"

// HasNative reports whether b holds anything the native form is for: a
// histogram sample that is not a staleness marker, or an exemplar.
func HasNative(b *relay.Batch) bool {
	for i := range b.Series {
		s := &b.Series[i]
		if len(s.Exemplars) > 0 {
			return true
		}
		for _, h := range s.Histograms {
			if !(h.IsStale() || h.H == nil && h.FH == nil) {
				return true
			}
		}
	}
	return false
}

// WriteNative writes the native histograms and exemplars of b in the
// native form, series in batch order, each series' histogram samples then
// its exemplars. A histogram sample that is a staleness marker is left out:
// the form holds what a target served, and a marker was never served.
func WriteNative(w io.Writer, b *relay.Batch) error {
	dst := append(make([]byte, 0, 4096), NativeHeader...)
	dst = append(dst, '\n')
	for i := range b.Series {
		s := &b.Series[i]
		for _, h := range s.Histograms {
			if h.IsStale() || h.H == nil && h.FH == nil {
				continue
			}
			dst = AppendNativeHistogram(dst, s.Labels, h)
		}
		for _, e := range s.Exemplars {
			dst = AppendNativeExemplar(dst, s.Labels, e)
		}
		if len(dst) >= flushAt {
			if _, err := w.Write(dst); err != nil {
				return fmt.Errorf("write native histograms: %w", err)
			}
			dst = dst[:0]
		}
	}
	if _, err := w.Write(dst); err != nil {
		return fmt.Errorf("write native histograms: %w", err)
	}
	return nil
}

// AppendNativeHistogram appends one H or FH record for h of series lset,
// newline included. h must hold H or FH.
func AppendNativeHistogram(dst []byte, lset labels.Labels, h relay.HistogramSample) []byte {
	if h.H != nil {
		x := h.H
		dst = append(dst, "H "...)
		dst = appendSeriesExact(dst, lset)
		dst = appendHistHead(dst, h.T, x.Schema, x.ZeroThreshold)
		dst = append(dst, " zc="...)
		dst = strconv.AppendUint(dst, x.ZeroCount, 10)
		dst = append(dst, " count="...)
		dst = strconv.AppendUint(dst, x.Count, 10)
		dst = appendHistSum(dst, x.Sum, x.CounterResetHint)
		dst = appendSpans(dst, " ps=", x.PositiveSpans)
		dst = appendInts(dst, " pd=", x.PositiveBuckets)
		dst = appendSpans(dst, " ns=", x.NegativeSpans)
		dst = appendInts(dst, " nd=", x.NegativeBuckets)
		dst = appendFloats(dst, " cv=", x.CustomValues)
		return append(dst, '\n')
	}
	x := h.FH
	dst = append(dst, "FH "...)
	dst = appendSeriesExact(dst, lset)
	dst = appendHistHead(dst, h.T, x.Schema, x.ZeroThreshold)
	dst = append(dst, " zc="...)
	dst = appendExactFloat(dst, x.ZeroCount)
	dst = append(dst, " count="...)
	dst = appendExactFloat(dst, x.Count)
	dst = appendHistSum(dst, x.Sum, x.CounterResetHint)
	dst = appendSpans(dst, " ps=", x.PositiveSpans)
	dst = appendFloats(dst, " pb=", x.PositiveBuckets)
	dst = appendSpans(dst, " ns=", x.NegativeSpans)
	dst = appendFloats(dst, " nb=", x.NegativeBuckets)
	dst = appendFloats(dst, " cv=", x.CustomValues)
	return append(dst, '\n')
}

// AppendNativeExemplar appends one E record for e of series lset, newline
// included.
func AppendNativeExemplar(dst []byte, lset labels.Labels, e relay.Exemplar) []byte {
	dst = append(dst, "E "...)
	dst = appendSeriesExact(dst, lset)
	dst = append(dst, " l={"...)
	first := true
	e.Labels.Range(func(l labels.Label) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendLabelName(dst, l.Name)
		dst = append(dst, '=')
		dst = appendExactQuoted(dst, l.Value)
	})
	dst = append(dst, "} v="...)
	dst = appendExactFloat(dst, e.Value)
	if e.HasTs {
		dst = append(dst, " t="...)
		dst = strconv.AppendInt(dst, e.Ts, 10)
	}
	return append(dst, '\n')
}

func appendHistHead(dst []byte, t int64, schema int32, zt float64) []byte {
	dst = append(dst, " t="...)
	dst = strconv.AppendInt(dst, t, 10)
	dst = append(dst, " schema="...)
	dst = strconv.AppendInt(dst, int64(schema), 10)
	dst = append(dst, " zt="...)
	return appendExactFloat(dst, zt)
}

func appendHistSum(dst []byte, sum float64, hint histogram.CounterResetHint) []byte {
	dst = append(dst, " sum="...)
	dst = appendExactFloat(dst, sum)
	dst = append(dst, " hint="...)
	if int(hint) < len(hintNames) {
		return append(dst, hintNames[hint]...)
	}
	return strconv.AppendUint(dst, uint64(hint), 10)
}

// hintNames spells the counter reset hints, by value.
var hintNames = [...]string{
	histogram.UnknownCounterReset: "unknown",
	histogram.CounterReset:        "reset",
	histogram.NotCounterReset:     "notreset",
	histogram.GaugeType:           "gauge",
}

func appendSpans(dst []byte, key string, spans []histogram.Span) []byte {
	dst = append(dst, key...)
	for i, sp := range spans {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(sp.Offset), 10)
		dst = append(dst, ':')
		dst = strconv.AppendUint(dst, uint64(sp.Length), 10)
	}
	return dst
}

func appendInts(dst []byte, key string, xs []int64) []byte {
	dst = append(dst, key...)
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, x, 10)
	}
	return dst
}

func appendFloats(dst []byte, key string, xs []float64) []byte {
	dst = append(dst, key...)
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendExactFloat(dst, x)
	}
	return dst
}

// canonicalNaN is the bits of math.NaN(), written plainly as NaN.
var canonicalNaN = math.Float64bits(math.NaN())

// appendExactFloat appends f as AppendFloat does, except that a NaN other
// than math.NaN() is written NaN(0x<bits>) so its payload survives.
func appendExactFloat(dst []byte, f float64) []byte {
	if bits := math.Float64bits(f); math.IsNaN(f) && bits != canonicalNaN {
		dst = append(dst, "NaN(0x"...)
		s := strconv.FormatUint(bits, 16)
		for range 16 - len(s) {
			dst = append(dst, '0')
		}
		dst = append(dst, s...)
		return append(dst, ')')
	}
	return AppendFloat(dst, f)
}

// appendSeriesExact appends lset in the text format's series syntax,
// names never escaped, strings quoted exactly (appendExactQuoted).
func appendSeriesExact(dst []byte, lset labels.Labels) []byte {
	name, hasName := "", false
	lset.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			name, hasName = l.Value, true
		}
	})
	open := false
	switch {
	case hasName && validMetricName(name):
		dst = append(dst, name...)
	case hasName:
		dst = append(dst, '{')
		dst = appendExactQuoted(dst, name)
		open = true
	}
	lset.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			return
		}
		if open {
			dst = append(dst, ',')
		} else {
			dst = append(dst, '{')
			open = true
		}
		dst = appendLabelName(dst, l.Name)
		dst = append(dst, '=')
		dst = appendExactQuoted(dst, l.Value)
	})
	if !open {
		return append(dst, "{}"...)
	}
	return append(dst, '}')
}

func appendLabelName(dst []byte, name string) []byte {
	if validLabelName(name) {
		return append(dst, name...)
	}
	return appendExactQuoted(dst, name)
}

// appendExactQuoted appends s in double quotes with backslash, double
// quote and newline escaped as the text format does, and every byte that is
// not part of valid UTF-8 written as \xHH, so any string reads back exactly.
func appendExactQuoted(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\', '"':
			dst = append(dst, '\\', c)
			i++
			continue
		case '\n':
			dst = append(dst, '\\', 'n')
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
