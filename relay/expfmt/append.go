package expfmt

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// AppendFloat appends f the way the text format spells it: "NaN", "+Inf",
// "-Inf", otherwise the shortest decimal that parses back to the same bits
// (strconv 'g', -1). Negative zero is written "-0" so its sign survives.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(dst, '1')
	case f == 0 && !math.Signbit(f):
		return append(dst, '0')
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...)
	case f > -1e6 && f < 1e6 && f == math.Trunc(f) && f != 0:
		// An integer of at most six digits: 'g' spells it as the integer
		// (from 1e6 on it switches to an exponent), and AppendInt is
		// several times cheaper. Zero is handled above (its sign).
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// AppendSample appends one sample line, newline included:
// name{labels} value [timestamp]. Labels named in o.OmitLabels are left out,
// and so is the timestamp when o.OmitDefaultTimestamp is set and it equals
// o.DefaultTimestamp. A name that is not a legacy metric name is written in
// the quoted form {"name",...}, and so are such label names, unless
// o.EscapeNames asks for them to be escaped instead.
func AppendSample(dst []byte, lset labels.Labels, s relay.Sample, o *Options) []byte {
	omit := o.OmitLabels
	if !slices.IsSorted(omit) {
		omit = slices.Sorted(slices.Values(omit))
	}
	return appendSample(dst, lset, s, o, omit)
}

// appendSample is AppendSample with o.OmitLabels sorted in omit: the
// labels, sorted too, are matched against it in one walk.
func appendSample(dst []byte, lset labels.Labels, s relay.Sample, o *Options, omit []string) []byte {
	name := lset.Get(labels.MetricName)
	quoted := !validMetricName(name)
	open := false
	if quoted && o.EscapeNames {
		dst = appendEscaped(dst, name, true)
	} else if quoted {
		dst = append(dst, '{')
		dst = appendQuoted(dst, noNUL(name))
		open = true
	} else {
		dst = append(dst, name...)
	}
	j := 0
	lset.Range(func(l labels.Label) {
		for j < len(omit) && omit[j] < l.Name {
			j++
		}
		if l.Name == labels.MetricName || j < len(omit) && omit[j] == l.Name {
			return
		}
		if open {
			dst = append(dst, ',')
		} else {
			dst = append(dst, '{')
			open = true
		}
		switch {
		case validLabelName(l.Name):
			dst = append(dst, l.Name...)
		case o.EscapeNames:
			dst = appendEscaped(dst, l.Name, false)
		default:
			dst = appendQuoted(dst, noNUL(l.Name))
		}
		dst = append(dst, '=')
		dst = appendQuoted(dst, l.Value)
	})
	if open {
		dst = append(dst, '}')
	}
	dst = append(dst, ' ')
	dst = AppendFloat(dst, s.V)
	if !o.OmitDefaultTimestamp || s.T != o.DefaultTimestamp {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, s.T, 10)
	}
	return append(dst, '\n')
}

// appendQuoted appends s in double quotes with backslash, double quote and
// newline escaped, as label values are written.
func appendQuoted(dst []byte, s string) []byte {
	s = validUTF8(s)
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '"':
			esc = '"'
		case '\n':
			esc = 'n'
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', esc)
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendHelp appends help text with backslash and newline escaped.
func appendHelp(dst []byte, s string) []byte {
	s = noNUL(validUTF8(s))
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch s[i] {
		case '\\':
			esc = '\\'
		case '\n':
			esc = 'n'
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', esc)
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendName appends a metric name as it stands in HELP and TYPE lines.
func appendName(dst []byte, name string, escape bool) []byte {
	switch {
	case validMetricName(name):
		return append(dst, name...)
	case escape:
		return appendEscaped(dst, name, true)
	}
	return appendQuoted(dst, noNUL(name))
}

// appendEscaped appends name with every character a legacy name may not
// hold replaced by '_' (Prometheus' "underscores" escaping); colon says
// whether ':' is allowed, as in metric names.
func appendEscaped(dst []byte, name string, colon bool) []byte {
	if name == "" {
		return append(dst, '_')
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' ||
			r == ':' && colon || r >= '0' && r <= '9' && i > 0
		if !ok {
			r = '_'
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// validMetricName reports whether name matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

// validLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*.
func validLabelName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

// validUTF8 returns s with invalid UTF-8 replaced by U+FFFD: parsers reject
// such bytes, and one bad label must not make a whole exposition unreadable.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// noNUL returns s with NUL bytes replaced by U+FFFD: Prometheus' parser
// cannot read them in quoted names or help text (label values are fine).
func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
