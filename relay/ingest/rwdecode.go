package ingest

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/edgerelay/edgerelay/relay"
)

// rwVersion is the remote_write protobuf message a request carries.
type rwVersion int

const (
	rwV1 rwVersion = 1 // prometheus.WriteRequest
	rwV2 rwVersion = 2 // io.prometheus.write.v2.Request
)

// decodeStats counts what a decoded request held besides float samples:
// what the X-Prometheus-Remote-Write-*-Written headers report once the
// batch is durable.
type decodeStats struct {
	histograms int // native histogram samples
	exemplars  int // exemplars
}

// badRequestError is a request the client must not retry: answered 400.
type badRequestError struct {
	reason string // metric label value, e.g. "bad_protobuf"
	msg    string
}

func (e *badRequestError) Error() string { return e.msg }

func badRequest(reason, format string, args ...any) error {
	return &badRequestError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// decodeRemoteWrite decodes an uncompressed remote_write protobuf message
// into a Batch stamped with receivedMs. Any error is a *badRequestError.
// The returned Batch does not refer to body. A 1.0 message is decoded
// into reuse's memory when it is not nil.
func decodeRemoteWrite(body []byte, v rwVersion, receivedMs int64, reuse *batchBufs) (*relay.Batch, decodeStats, error) {
	if v == rwV2 {
		return decodeV2(body, receivedMs)
	}
	return decodeV1(body, receivedMs, reuse)
}

// batchBufs is the memory of a decoded remote_write 1.0 batch, its series
// and their float samples, kept for the next request.
type batchBufs struct {
	series []relay.Series
	flat   []relay.Sample
}

// maxReusedSeries bounds the series (and samples) whose memory is kept.
const maxReusedSeries = 1 << 16

// put keeps the memory of b, whose series were decoded into bb, in pool,
// holding no reference to anything else of b.
func (bb *batchBufs) put(pool *sync.Pool, b *relay.Batch) {
	clear(b.Series)
	if cap(b.Series) > maxReusedSeries || cap(bb.flat) > maxReusedSeries {
		return
	}
	bb.series = b.Series[:0]
	pool.Put(bb)
}

func decodeV2(body []byte, receivedMs int64) (*relay.Batch, decodeStats, error) {
	var (
		req   writev2.Request
		stats decodeStats
	)
	if err := req.Unmarshal(body); err != nil {
		return nil, stats, badRequest("bad_protobuf", "body is not a protobuf io.prometheus.write.v2.Request: %v", err)
	}
	if len(req.Timeseries) == 0 && len(req.XXX_unrecognized) > 0 {
		return nil, stats, badRequest("bad_protobuf", "body holds no io.prometheus.write.v2.Request fields (a remote_write 1.0 body sent as 2.0?)")
	}
	syms := v2Symbols(req.Symbols)
	b := &relay.Batch{Timestamp: receivedMs, Series: make([]relay.Series, 0, len(req.Timeseries))}
	sb := labels.NewScratchBuilder(8)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		ls, err := syms.labels(ts.LabelsRefs, &sb, i)
		if err != nil {
			return nil, stats, err
		}
		meta, err := syms.metadata(ts.Metadata, i)
		if err != nil {
			return nil, stats, err
		}
		exemplars, err := exemplarsV2(ts.Exemplars, syms, i)
		if err != nil {
			return nil, stats, err
		}
		stats.histograms += len(ts.Histograms)
		stats.exemplars += len(ts.Exemplars)
		if meta.Type != string(model.MetricTypeUnknown) || meta.Help != "" || meta.Unit != "" {
			if b.Metadata == nil {
				b.Metadata = make(map[string]relay.Metadata)
			}
			b.Metadata[familyName(ls.Get(model.MetricNameLabel), model.MetricType(meta.Type))] = meta
		}
		if len(ts.Samples)+len(ts.Histograms)+len(exemplars) == 0 {
			continue
		}
		sr, err := seriesV2(ts, ls, exemplars, i)
		if err != nil {
			return nil, stats, err
		}
		b.Series = append(b.Series, sr)
	}
	return b, stats, nil
}

// v2Symbols is a remote_write 2.0 request's symbol table.
type v2Symbols []string

// get returns the symbol ref names, or an error naming what series
// referred to with it.
func (syms v2Symbols) get(ref uint32, series int, what string) (string, error) {
	if uint64(ref) >= uint64(len(syms)) {
		return "", badRequest("invalid_symbols", "series %d: %s symbol reference %d out of range (%d symbols)", series, what, ref, len(syms))
	}
	return syms[ref], nil
}

// labels resolves a series' label references (name, value, name, ...)
// into its validated, sorted label set, built in sb.
func (syms v2Symbols) labels(refs []uint32, sb *labels.ScratchBuilder, series int) (labels.Labels, error) {
	if len(refs)%2 != 0 {
		return labels.EmptyLabels(), badRequest("invalid_symbols", "series %d: odd number of label references (%d)", series, len(refs))
	}
	sb.Reset()
	for j := 0; j < len(refs); j += 2 {
		name, err := syms.get(refs[j], series, "label name")
		if err != nil {
			return labels.EmptyLabels(), err
		}
		value, err := syms.get(refs[j+1], series, "label value")
		if err != nil {
			return labels.EmptyLabels(), err
		}
		sb.Add(name, value)
	}
	return finishLabels(sb, series)
}

// metadata resolves a series' metadata; its Type is "unknown" when the
// request gave none.
func (syms v2Symbols) metadata(m writev2.Metadata, series int) (relay.Metadata, error) {
	help, err := syms.get(m.HelpRef, series, "help")
	if err != nil {
		return relay.Metadata{}, err
	}
	unit, err := syms.get(m.UnitRef, series, "unit")
	if err != nil {
		return relay.Metadata{}, err
	}
	return relay.Metadata{Type: string(v2MetricType(m.Type)), Help: help, Unit: unit}, nil
}

// seriesV2 is the Series of ts with labels ls and its exemplars: samples
// and histograms in timestamp order, histograms checked.
func seriesV2(ts *writev2.TimeSeries, ls labels.Labels, exemplars []relay.Exemplar, series int) (relay.Series, error) {
	sr := relay.Series{Labels: ls, Exemplars: exemplars}
	if len(ts.Samples) > 0 {
		sr.Samples = make([]relay.Sample, len(ts.Samples))
		for j, s := range ts.Samples {
			sr.Samples[j] = relay.Sample{T: s.Timestamp, V: s.Value}
		}
		sortSamples(sr.Samples)
	}
	if len(ts.Histograms) > 0 {
		sr.Histograms = make([]relay.HistogramSample, len(ts.Histograms))
		for j := range ts.Histograms {
			sr.Histograms[j] = histogramV2(&ts.Histograms[j])
		}
		sortHistogramSamples(sr.Histograms)
		if err := checkHistograms(sr.Histograms, series); err != nil {
			return relay.Series{}, err
		}
	}
	return sr, nil
}

// finishLabels validates and sorts the labels in sb. Labels with an empty
// value are dropped: Prometheus treats them as absent.
func finishLabels(sb *labels.ScratchBuilder, series int) (labels.Labels, error) {
	sb.Sort()
	ls := sb.Labels()
	var bad error
	ls.Range(func(l labels.Label) {
		switch {
		case bad != nil:
		case l.Name == "":
			bad = badRequest("invalid_labels", "series %d: empty label name", series)
		case !utf8.ValidString(l.Name):
			bad = badRequest("invalid_labels", "series %d: label name %q is not valid UTF-8", series, l.Name)
		case !utf8.ValidString(l.Value):
			bad = badRequest("invalid_labels", "series %d: value of label %q is not valid UTF-8", series, l.Name)
		}
	})
	if bad != nil {
		return labels.EmptyLabels(), bad
	}
	if name, dup := ls.HasDuplicateLabelNames(); dup {
		return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: duplicate label name %q", series, name)
	}
	if ls.Get(model.MetricNameLabel) == "" {
		return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: no metric name (%s label)", series, model.MetricNameLabel)
	}
	hasEmpty := false
	ls.Range(func(l labels.Label) { hasEmpty = hasEmpty || l.Value == "" })
	if hasEmpty {
		sb.Reset()
		ls.Range(func(l labels.Label) {
			if l.Value != "" {
				sb.Add(l.Name, l.Value)
			}
		})
		ls = sb.Labels()
	}
	return ls, nil
}

// span is a label read from a request body: the offsets of its name and
// value. It holds no pointer, so a decoder fills its slice of them without
// the garbage collector's write barriers.
type span struct{ nlo, nhi, vlo, vhi int }

func (l span) name(src string) string  { return src[l.nlo:l.nhi] }
func (l span) value(src string) string { return src[l.vlo:l.vhi] }

// finishSpans is finishLabels for labels read into ls from src (sorted in
// place): the same checks, in the same order, with the same errors, in one
// pass, the label set built in a. ascii tells that every name and value is
// known to be ASCII, so valid UTF-8.
func finishSpans(src string, ls []span, a *labelArena, ascii bool, series int) (labels.Labels, error) {
	cmp := func(x, y span) int { return strings.Compare(x.name(src), y.name(src)) }
	if !slices.IsSortedFunc(ls, cmp) {
		slices.SortFunc(ls, cmp)
	}
	dup, hasName, hasEmpty := "", false, false
	for i, l := range ls {
		name, value := l.name(src), l.value(src)
		switch {
		case name == "":
			return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: empty label name", series)
		case ascii:
		case !utf8.ValidString(name):
			return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: label name %q is not valid UTF-8", series, name)
		case !utf8.ValidString(value):
			return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: value of label %q is not valid UTF-8", series, name)
		}
		if i > 0 && dup == "" && ls[i-1].name(src) == name {
			dup = name
		}
		if value == "" {
			hasEmpty = true
		} else if name == model.MetricNameLabel {
			hasName = true
		}
	}
	if dup != "" {
		return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: duplicate label name %q", series, dup)
	}
	if !hasName {
		return labels.EmptyLabels(), badRequest("invalid_labels", "series %d: no metric name (%s label)", series, model.MetricNameLabel)
	}
	if hasEmpty {
		ls = slices.DeleteFunc(ls, func(l span) bool { return l.vlo == l.vhi })
	}
	return a.build(src, ls), nil
}

// isASCII reports whether b holds only ASCII bytes.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// sortSamples puts samples in timestamp order, keeping the order of equal
// timestamps.
func sortSamples(s []relay.Sample) []relay.Sample {
	if !slices.IsSortedFunc(s, cmpSampleT) {
		slices.SortStableFunc(s, cmpSampleT)
	}
	return s
}

func cmpSampleT(a, b relay.Sample) int {
	switch {
	case a.T < b.T:
		return -1
	case a.T > b.T:
		return 1
	}
	return 0
}

func v2MetricType(t writev2.Metadata_MetricType) model.MetricType {
	switch t {
	case writev2.Metadata_METRIC_TYPE_COUNTER:
		return model.MetricTypeCounter
	case writev2.Metadata_METRIC_TYPE_GAUGE:
		return model.MetricTypeGauge
	case writev2.Metadata_METRIC_TYPE_HISTOGRAM:
		return model.MetricTypeHistogram
	case writev2.Metadata_METRIC_TYPE_GAUGEHISTOGRAM:
		return model.MetricTypeGaugeHistogram
	case writev2.Metadata_METRIC_TYPE_SUMMARY:
		return model.MetricTypeSummary
	case writev2.Metadata_METRIC_TYPE_INFO:
		return model.MetricTypeInfo
	case writev2.Metadata_METRIC_TYPE_STATESET:
		return model.MetricTypeStateset
	}
	return model.MetricTypeUnknown
}

// familyName guesses the metric family of a remote_write 2.0 series, whose
// metadata is per series: the _bucket, _sum, _count and _created series of a
// histogram or summary belong to the family without the suffix.
func familyName(metric string, typ model.MetricType) string {
	switch typ {
	case model.MetricTypeHistogram, model.MetricTypeGaugeHistogram, model.MetricTypeSummary:
		for _, suffix := range []string{"_bucket", "_sum", "_count", "_created", "_gsum", "_gcount"} {
			if f, ok := strings.CutSuffix(metric, suffix); ok && f != "" {
				return f
			}
		}
	}
	return metric
}
