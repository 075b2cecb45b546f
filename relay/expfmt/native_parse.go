package expfmt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// ParseNative reads the native form (NativeHeader) back: one series per
// distinct label set, in the order each first appears, holding its
// histogram samples and exemplars in file order. Empty input holds
// nothing. Any other input must start with the header line; a malformed
// record is an error naming its line, and nothing is returned.
func ParseNative(data []byte) ([]relay.Series, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var out []relay.Series
	index := map[string]int{}
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			return nil, fmt.Errorf("native line %d: no newline at the end", n)
		}
		if n == 1 {
			if string(line) != NativeHeader {
				return nil, fmt.Errorf("native line 1: want %q", NativeHeader)
			}
			continue
		}
		p := &nparser{s: string(line)}
		lset, h, e, err := p.record()
		if err != nil {
			return nil, fmt.Errorf("native line %d: %w", n, err)
		}
		key := string(lset.Bytes(nil))
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, relay.Series{Labels: lset})
		}
		if e != nil {
			out[i].Exemplars = append(out[i].Exemplars, *e)
		} else {
			out[i].Histograms = append(out[i].Histograms, h)
		}
	}
	return out, nil
}

// nparser reads one record.
type nparser struct {
	s   string
	pos int
}

func (p *nparser) record() (labels.Labels, relay.HistogramSample, *relay.Exemplar, error) {
	var h relay.HistogramSample
	kind := p.word()
	if !p.skip(' ') {
		return labels.EmptyLabels(), h, nil, errors.New("want a record kind H, FH or E")
	}
	lset, err := p.series()
	if err != nil {
		return lset, h, nil, err
	}
	switch kind {
	case "H":
		h.H, err = p.histogram(&h.T)
	case "FH":
		h.FH, err = p.floatHistogram(&h.T)
	case "E":
		var e relay.Exemplar
		e, err = p.exemplar()
		if err == nil && p.pos != len(p.s) {
			err = fmt.Errorf("unexpected %q after the record", p.rest())
		}
		return lset, h, &e, err
	default:
		return lset, h, nil, fmt.Errorf("unknown record kind %q", kind)
	}
	if err == nil && p.pos != len(p.s) {
		err = fmt.Errorf("unexpected %q after the record", p.rest())
	}
	return lset, h, nil, err
}

func (p *nparser) histogram(t *int64) (*histogram.Histogram, error) {
	x := &histogram.Histogram{}
	var err error
	f := func(key string, parse func(string) error) {
		if err == nil {
			err = p.field(key, parse)
		}
	}
	f("t", intInto(t))
	f("schema", func(s string) (e error) { x.Schema, e = parseInt32(s); return })
	f("zt", floatInto(&x.ZeroThreshold))
	f("zc", uintInto(&x.ZeroCount))
	f("count", uintInto(&x.Count))
	f("sum", floatInto(&x.Sum))
	f("hint", func(s string) (e error) { x.CounterResetHint, e = parseHint(s); return })
	f("ps", func(s string) (e error) { x.PositiveSpans, e = parseSpans(s); return })
	f("pd", func(s string) (e error) { x.PositiveBuckets, e = parseList(s, parseInt64); return })
	f("ns", func(s string) (e error) { x.NegativeSpans, e = parseSpans(s); return })
	f("nd", func(s string) (e error) { x.NegativeBuckets, e = parseList(s, parseInt64); return })
	f("cv", func(s string) (e error) { x.CustomValues, e = parseList(s, parseExactFloat); return })
	return x, err
}

func (p *nparser) floatHistogram(t *int64) (*histogram.FloatHistogram, error) {
	x := &histogram.FloatHistogram{}
	var err error
	f := func(key string, parse func(string) error) {
		if err == nil {
			err = p.field(key, parse)
		}
	}
	f("t", intInto(t))
	f("schema", func(s string) (e error) { x.Schema, e = parseInt32(s); return })
	f("zt", floatInto(&x.ZeroThreshold))
	f("zc", floatInto(&x.ZeroCount))
	f("count", floatInto(&x.Count))
	f("sum", floatInto(&x.Sum))
	f("hint", func(s string) (e error) { x.CounterResetHint, e = parseHint(s); return })
	f("ps", func(s string) (e error) { x.PositiveSpans, e = parseSpans(s); return })
	f("pb", func(s string) (e error) { x.PositiveBuckets, e = parseList(s, parseExactFloat); return })
	f("ns", func(s string) (e error) { x.NegativeSpans, e = parseSpans(s); return })
	f("nb", func(s string) (e error) { x.NegativeBuckets, e = parseList(s, parseExactFloat); return })
	f("cv", func(s string) (e error) { x.CustomValues, e = parseList(s, parseExactFloat); return })
	return x, err
}

func (p *nparser) exemplar() (relay.Exemplar, error) {
	var e relay.Exemplar
	if !p.lit(" l=") {
		return e, errors.New("want l={...}")
	}
	if !p.skip('{') {
		return e, errors.New("want { after l=")
	}
	var err error
	if e.Labels, err = p.labelPairs(false); err != nil {
		return e, err
	}
	if err := p.field("v", floatInto(&e.Value)); err != nil {
		return e, err
	}
	if p.pos < len(p.s) {
		if err := p.field("t", intInto(&e.Ts)); err != nil {
			return e, err
		}
		e.HasTs = true
	}
	return e, nil
}

// field reads " key=value" and hands value to parse.
func (p *nparser) field(key string, parse func(string) error) error {
	if !p.skip(' ') || !p.lit(key) || !p.skip('=') {
		return fmt.Errorf("want field %s= at %q", key, p.rest())
	}
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ' ' {
		p.pos++
	}
	if err := parse(p.s[start:p.pos]); err != nil {
		return fmt.Errorf("field %s: %w", key, err)
	}
	return nil
}

func intInto(dst *int64) func(string) error {
	return func(s string) (err error) { *dst, err = parseInt64(s); return }
}

func uintInto(dst *uint64) func(string) error {
	return func(s string) (err error) { *dst, err = strconv.ParseUint(s, 10, 64); return }
}

func floatInto(dst *float64) func(string) error {
	return func(s string) (err error) { *dst, err = parseExactFloat(s); return }
}

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func parseInt32(s string) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	return int32(v), err
}

// parseExactFloat reads what appendExactFloat writes: the text format's
// spellings, and NaN(0x<bits>) for a NaN with its payload.
func parseExactFloat(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	if hexBits, ok := strings.CutPrefix(s, "NaN(0x"); ok {
		hexBits, ok = strings.CutSuffix(hexBits, ")")
		bits, err := strconv.ParseUint(hexBits, 16, 64)
		if !ok || err != nil || len(hexBits) != 16 || !math.IsNaN(math.Float64frombits(bits)) {
			return 0, fmt.Errorf("bad NaN %q", s)
		}
		return math.Float64frombits(bits), nil
	}
	// Only decimal spellings: no hex floats, no other names for NaN and Inf.
	if s == "" || strings.ContainsAny(s, "xXpPnNiI_") {
		return 0, fmt.Errorf("bad float %q", s)
	}
	return strconv.ParseFloat(s, 64)
}

func parseHint(s string) (histogram.CounterResetHint, error) {
	for i, n := range hintNames {
		if s == n {
			return histogram.CounterResetHint(i), nil
		}
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("bad counter reset hint %q", s)
	}
	return histogram.CounterResetHint(v), nil
}

func parseSpans(s string) ([]histogram.Span, error) {
	return parseList(s, func(x string) (histogram.Span, error) {
		off, length, ok := strings.Cut(x, ":")
		o, err1 := strconv.ParseInt(off, 10, 32)
		l, err2 := strconv.ParseUint(length, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return histogram.Span{}, fmt.Errorf("bad span %q", x)
		}
		return histogram.Span{Offset: int32(o), Length: uint32(l)}, nil
	})
}

// parseList reads a comma-separated list; empty means none (nil).
func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]T, len(parts))
	for i, x := range parts {
		v, err := parse(x)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
