// Package expfmt writes a relay.Batch in the Prometheus text exposition
// format, version 0.0.4: "# HELP" and "# TYPE" lines from the batch's
// metadata, a "# UNIT" line where the metadata has a unit (a comment to
// 0.0.4 readers, which skip it; OpenMetrics' spelling of the unit), then one
// "name{labels} value [timestamp]" line per sample.
//
// Families are written in name order and all series of one family are
// contiguous, in their batch order; the _bucket, _sum and _count series of a
// histogram or summary are grouped under their family, and a counter's
// _total series under its family's metadata. Floats are spelled as
// Prometheus spells them ("NaN", "+Inf", "-Inf", shortest round-tripping
// decimal). Metric and label names that are not legacy names are written in
// the quoted form ({"name", "label.name"="v"}), or escaped to legacy names
// on request. Invalid UTF-8 in strings is
// replaced by U+FFFD so the output always parses.
//
// Options can leave given labels out of every sample (the zstats "kvs") and
// leave out timestamps equal to a default timestamp (the zstats "dts").
//
// Native histograms and exemplars, which the text format cannot hold, have
// a text form of their own (NativeHeader): WriteNative writes it and
// ParseNative reads it back exactly.
//
// An Encoder reuses its buffers and allocates nothing per sample once warm;
// it is not safe for concurrent use. The package-level functions are.
package expfmt

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// ContentType is the media type of what this package writes.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// flushAt is the buffer size at which the encoder hands bytes to the writer.
const flushAt = 64 << 10

// Options control what is left out of sample lines. The zero value writes
// every label and every timestamp.
type Options struct {
	// OmitLabels names labels left out of every sample line.
	OmitLabels []string
	// OmitDefaultTimestamp leaves out timestamps equal to DefaultTimestamp.
	OmitDefaultTimestamp bool
	// DefaultTimestamp is in milliseconds since the Unix epoch.
	DefaultTimestamp int64
	// EscapeNames writes metric and label names that are not legacy names
	// with each offending character replaced by '_', for readers that
	// predate quoted names (Prometheus before 3.0, promtool 2.x). Names
	// may then collide. Otherwise such names are written quoted.
	EscapeNames bool
}

// Encoder writes batches in text format, reusing its buffers between calls.
// The zero value is ready to use.
type Encoder struct {
	buf  []byte
	runs []run
	omit []string // o.OmitLabels sorted
}

// run is a stretch of consecutive series of the batch being written that
// belong to one family: series come grouped by family, so sorting the
// runs instead of every series keeps the sort small.
type run struct {
	family     string
	meta       relay.Metadata
	known      bool
	start, end int // series indexes
}

// Write writes b to w with a fresh Encoder.
func Write(w io.Writer, b *relay.Batch, o Options) error {
	var e Encoder
	return e.Encode(w, b, o)
}

// Encode writes every sample of b to w, families sorted, each family
// preceded by its HELP and TYPE lines where b.Metadata knows them.
func (e *Encoder) Encode(w io.Writer, b *relay.Batch, o Options) error {
	e.runs = e.runs[:0]
	prevName := ""
	for i := range b.Series {
		name := b.Series[i].Labels.Get(labels.MetricName)
		if i > 0 && name == prevName {
			e.runs[len(e.runs)-1].end = i + 1
			continue
		}
		prevName = name
		fam, md, ok := Family(name, b.Metadata)
		if n := len(e.runs); n > 0 && e.runs[n-1].family == fam {
			e.runs[n-1].end = i + 1
			continue
		}
		e.runs = append(e.runs, run{family: fam, meta: md, known: ok, start: i, end: i + 1})
	}
	slices.SortStableFunc(e.runs, func(a, b run) int { return cmp.Compare(a.family, b.family) })

	e.omit = append(e.omit[:0], o.OmitLabels...)
	slices.Sort(e.omit)
	e.buf = e.buf[:0]
	for k, r := range e.runs {
		if k == 0 || r.family != e.runs[k-1].family {
			e.buf = appendHeader(e.buf, r, o.EscapeNames)
		}
		for i := r.start; i < r.end; i++ {
			s := &b.Series[i]
			for _, smp := range s.Samples {
				e.buf = appendSample(e.buf, s.Labels, smp, &o, e.omit)
			}
			if len(e.buf) >= flushAt {
				if _, err := w.Write(e.buf); err != nil {
					return fmt.Errorf("write exposition: %w", err)
				}
				e.buf = e.buf[:0]
			}
		}
	}
	if len(e.buf) > 0 {
		if _, err := w.Write(e.buf); err != nil {
			return fmt.Errorf("write exposition: %w", err)
		}
	}
	return nil
}

// appendHeader appends the HELP, TYPE and UNIT lines of en's family.
func appendHeader(dst []byte, en run, escape bool) []byte {
	if !en.known {
		return dst
	}
	if en.meta.Help != "" {
		dst = append(dst, "# HELP "...)
		dst = appendName(dst, en.family, escape)
		dst = append(dst, ' ')
		dst = appendHelp(dst, en.meta.Help)
		dst = append(dst, '\n')
	}
	if t := TextType(en.meta.Type); t != "" {
		dst = append(dst, "# TYPE "...)
		dst = appendName(dst, en.family, escape)
		dst = append(dst, ' ')
		dst = append(dst, t...)
		dst = append(dst, '\n')
	}
	if en.meta.Unit != "" {
		// A comment to 0.0.4 readers (Prometheus' parser, promtool), the
		// unit to those that know OpenMetrics' UNIT line.
		dst = append(dst, "# UNIT "...)
		dst = appendName(dst, en.family, escape)
		dst = append(dst, ' ')
		dst = appendHelp(dst, en.meta.Unit)
		dst = append(dst, '\n')
	}
	return dst
}

// Family returns the family a series named name is written under, and that
// family's metadata when md knows it. An exact entry in md wins; otherwise
// name_bucket, name_sum and name_count belong to a histogram or summary
// "name", and name_total and name_info to a counter or info "name" (written
// under the full series name, as the 0.0.4 format wants). Without metadata
// the family is name itself.
func Family(name string, md map[string]relay.Metadata) (string, relay.Metadata, bool) {
	if m, ok := md[name]; ok {
		return name, m, true
	}
	for _, suf := range [...]string{"_bucket", "_sum", "_count", "_total", "_info"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		m, ok := md[base]
		if !ok {
			continue
		}
		switch t := strings.ToLower(m.Type); {
		case t == "histogram" && suf != "_total" && suf != "_info",
			t == "summary" && (suf == "_sum" || suf == "_count"):
			return base, m, true
		case t == "counter" && suf == "_total", t == "info" && suf == "_info":
			return name, m, true
		}
	}
	return name, relay.Metadata{}, false
}

// TextType maps a metadata type to what a 0.0.4 TYPE line may say:
// counter, gauge, histogram, summary or untyped. OpenMetrics' info and
// stateset are gauges there; unknown and empty types are untyped; a type the
// format cannot express (gaugehistogram) yields "" and no TYPE line.
func TextType(t string) string {
	switch strings.ToLower(t) {
	case "counter":
		return "counter"
	case "gauge", "info", "stateset":
		return "gauge"
	case "histogram":
		return "histogram"
	case "summary":
		return "summary"
	case "untyped", "unknown", "":
		return "untyped"
	}
	return ""
}
