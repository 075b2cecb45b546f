package stream

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/relay"
)

// The lines of a stream, one JSON object each (newline-delimited JSON):
//
//	{"metric":{"__name__":"up","job":"node",...},"timestamp":1700000000123,"value":"1"}
//	{"metric":{...},"timestamp":1700000000123,"histogram":{"count":"10","sum":"3.5","buckets":[[0,"0.5","1","3"],...]}}
//	{"metric":{...},"timestamp":1700000000123,"stale":true}
//	{"end":"slow","message":"..."}
//
// metric, value and histogram are written as Prometheus' HTTP API writes
// them (values as strings, so NaN and ±Inf survive JSON; a histogram's
// buckets as [boundary rule, lower, upper, count] with rule 0 open left,
// 1 open right, 2 open both, 3 closed both, empty buckets left out); the
// timestamp is in milliseconds. A staleness marker (the series ended) is a
// line with "stale":true and no value. The last line, when the cloud ends
// the stream, says why.

// appendSeries appends the lines of series s: its float and histogram
// samples merged in timestamp order. It returns the samples written,
// markers not counted. scratch is reused for the label set's JSON; the
// grown scratch is returned for the next call.
func appendSeries(buf, scratch []byte, s *relay.Series) ([]byte, []byte, int) {
	metric := appendMetric(scratch[:0], s.Labels)
	n := 0
	fs, hs := s.Samples, s.Histograms
	for len(fs) > 0 || len(hs) > 0 {
		if len(hs) == 0 || len(fs) > 0 && fs[0].T <= hs[0].T {
			buf = appendFloat(buf, metric, fs[0])
			if !value.IsStaleNaN(fs[0].V) {
				n++
			}
			fs = fs[1:]
			continue
		}
		buf = appendHistogram(buf, metric, &hs[0])
		if !hs[0].IsStale() {
			n++
		}
		hs = hs[1:]
	}
	return buf, metric, n
}

func appendHead(buf, metric []byte, t int64) []byte {
	buf = append(buf, `{"metric":`...)
	buf = append(buf, metric...)
	buf = append(buf, `,"timestamp":`...)
	return strconv.AppendInt(buf, t, 10)
}

func appendFloat(buf, metric []byte, s relay.Sample) []byte {
	buf = appendHead(buf, metric, s.T)
	if value.IsStaleNaN(s.V) {
		return append(buf, `,"stale":true}`+"\n"...)
	}
	buf = append(buf, `,"value":`...)
	buf = appendValue(buf, s.V)
	return append(buf, "}\n"...)
}

func appendHistogram(buf, metric []byte, hs *relay.HistogramSample) []byte {
	buf = appendHead(buf, metric, hs.T)
	if hs.IsStale() {
		return append(buf, `,"stale":true}`+"\n"...)
	}
	fh := hs.FH
	if fh == nil {
		fh = hs.H.ToFloat(nil)
	}
	buf = append(buf, `,"histogram":{"count":`...)
	buf = appendValue(buf, fh.Count)
	buf = append(buf, `,"sum":`...)
	buf = appendValue(buf, fh.Sum)
	first := true
	for it := fh.AllBucketIterator(); it.Next(); {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		if first {
			buf = append(buf, `,"buckets":[`...)
			first = false
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, '[')
		buf = strconv.AppendInt(buf, int64(boundaryRule(b)), 10)
		buf = append(buf, ',')
		buf = appendValue(buf, b.Lower)
		buf = append(buf, ',')
		buf = appendValue(buf, b.Upper)
		buf = append(buf, ',')
		buf = appendValue(buf, b.Count)
		buf = append(buf, ']')
	}
	if !first {
		buf = append(buf, ']')
	}
	return append(buf, "}}\n"...)
}

// boundaryRule is how Prometheus' API says which ends of a bucket are in
// it: 0 only the upper, 1 only the lower, 2 neither, 3 both.
func boundaryRule(b histogram.Bucket[float64]) int {
	switch {
	case b.LowerInclusive && b.UpperInclusive:
		return 3
	case b.LowerInclusive:
		return 1
	case b.UpperInclusive:
		return 0
	}
	return 2
}

// appendValue appends v as a JSON string the way Prometheus' API writes
// sample values: shortest representation, exponent form below 1e-6 and
// from 1e21, "NaN", "+Inf", "-Inf".
func appendValue(buf []byte, v float64) []byte {
	buf = append(buf, '"')
	switch {
	case math.IsNaN(v):
		buf = append(buf, "NaN"...)
	case math.IsInf(v, 1):
		buf = append(buf, "+Inf"...)
	case math.IsInf(v, -1):
		buf = append(buf, "-Inf"...)
	default:
		format := byte('f')
		if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
			format = 'e'
		}
		buf = strconv.AppendFloat(buf, v, format, -1, 64)
	}
	return append(buf, '"')
}

// appendMetric appends lset as a JSON object of label names to values.
func appendMetric(buf []byte, lset labels.Labels) []byte {
	buf = append(buf, '{')
	first := true
	lset.Range(func(l labels.Label) {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendString(buf, l.Name)
		buf = append(buf, ':')
		buf = appendString(buf, l.Value)
	})
	return append(buf, '}')
}

// appendEnd appends the last line of a stream the cloud ends.
func appendEnd(buf []byte, reason, message string) []byte {
	buf = append(buf, `{"end":`...)
	buf = appendString(buf, reason)
	buf = append(buf, `,"message":`...)
	buf = appendString(buf, message)
	return append(buf, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; bytes that are not UTF-8 become
// U+FFFD.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20 || c == 0x7f:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
