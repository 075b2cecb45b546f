package ingest

import (
	"encoding/binary"
	"math"
	"strings"
	"unsafe"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/edgerelay/edgerelay/relay"
)

// This file decodes remote_write 1.0 (prometheus.WriteRequest) straight
// from the wire: strings are read in place from the body and samples go
// into one array, so a request costs a few allocations per series instead of
// one per string. rwdecode_ref_test.go checks it against the generated code.

// Field numbers of prometheus.WriteRequest and the messages inside it.
const (
	fWriteTimeseries = 1
	fWriteMetadata   = 3

	fSeriesLabels     = 1
	fSeriesSamples    = 2
	fSeriesExemplars  = 3
	fSeriesHistograms = 4

	fLabelName  = 1
	fLabelValue = 2

	fSampleValue     = 1
	fSampleTimestamp = 2

	fMetaType   = 1
	fMetaFamily = 2
	fMetaHelp   = 4
	fMetaUnit   = 5
)

func notProtobuf(err error) error {
	return badRequest("bad_protobuf", "body is not a protobuf prometheus.WriteRequest: %v", err)
}

func decodeV1(body []byte, receivedMs int64, reuse *batchBufs) (*relay.Batch, decodeStats, error) {
	var stats decodeStats
	nSeries, nMeta, nSamples, unknown, err := countV1(body)
	if err != nil {
		return nil, stats, notProtobuf(err)
	}
	if nSeries == 0 && nMeta == 0 && unknown {
		return nil, stats, badRequest("bad_protobuf", "body holds no prometheus.WriteRequest fields (a remote_write 2.0 body sent as 1.0?)")
	}
	d := v1Decoder{
		body: body,
		// Strings read from the body alias it: every one the batch keeps
		// is copied (label sets are built anew, metadata cloned).
		arena: unsafe.String(unsafe.SliceData(body), len(body)),
		batch: &relay.Batch{Timestamp: receivedMs},
	}
	if reuse != nil && cap(reuse.flat) >= nSamples && cap(reuse.series) >= nSeries {
		d.flat, d.batch.Series = reuse.flat[:0], reuse.series[:0]
	} else {
		d.flat, d.batch.Series = make([]relay.Sample, 0, nSamples), make([]relay.Series, 0, nSeries)
	}
	index := 0
	for p := 0; p < len(body); {
		f, next, err := nextField(body, p, len(body))
		if err != nil {
			return nil, stats, notProtobuf(err)
		}
		p = next
		switch f.num {
		case fWriteTimeseries:
			if err := d.series(f, index); err != nil {
				return nil, stats, err
			}
			index++
		case fWriteMetadata:
			if err := d.metadata(f); err != nil {
				return nil, stats, err
			}
		}
	}
	if reuse != nil {
		reuse.flat = d.flat
	}
	return d.batch, d.stats, nil
}

// countV1 counts the series and metadata of a WriteRequest, and tells
// whether it holds top-level fields other than series and metadata. It
// guesses one sample per series, as a sender scraping at the interval it
// sends at makes them: the decoder's sample array grows past that.
func countV1(body []byte) (series, meta, samples int, unknown bool, err error) {
	for p := 0; p < len(body); {
		f, next, err := nextField(body, p, len(body))
		if err != nil {
			return 0, 0, 0, false, err
		}
		p = next
		switch f.num {
		case fWriteTimeseries:
			if err := wantType(f, protowire.BytesType, "WriteRequest"); err != nil {
				return 0, 0, 0, false, err
			}
			series++
		case fWriteMetadata:
			meta++
		default:
			unknown = true
		}
	}
	return series, meta, series, unknown, nil
}

type v1Decoder struct {
	body   []byte
	arena  string
	flat   []relay.Sample
	ls     []span // the series' labels as read
	labels labelArena
	esb    labels.ScratchBuilder // exemplar labels
	batch  *relay.Batch
	stats  decodeStats
}

func (d *v1Decoder) series(f wireField, index int) error {
	if err := wantType(f, protowire.BytesType, "WriteRequest"); err != nil {
		return notProtobuf(err)
	}
	d.ls = d.ls[:0]
	first := len(d.flat)
	var sr relay.Series
	// The label fields' extent and bytes, to check them for ASCII at once
	// when they follow one another, as Prometheus writes them.
	labLo, labHi, labBytes := -1, 0, 0
	for p := f.lo; p < f.hi; {
		g, next, err := nextField(d.body, p, f.hi)
		if err != nil {
			return notProtobuf(err)
		}
		at := p
		p = next
		switch g.num {
		case fSeriesLabels:
			if err := d.label(g); err != nil {
				return notProtobuf(err)
			}
			if labLo < 0 {
				labLo = at
			}
			labHi, labBytes = next, labBytes+next-at
		case fSeriesSamples:
			if err := d.sample(g); err != nil {
				return notProtobuf(err)
			}
		case fSeriesExemplars, fSeriesHistograms:
			if err := wantType(g, protowire.BytesType, "TimeSeries"); err != nil {
				return notProtobuf(err)
			}
			if err := d.extra(g, &sr); err != nil {
				return notProtobuf(err)
			}
		}
	}
	ascii := labLo >= 0 && labHi-labLo == labBytes && isASCII(d.body[labLo:labHi])
	ls, err := finishSpans(d.arena, d.ls, &d.labels, ascii, index)
	if err != nil {
		return err
	}
	if len(d.flat) > first {
		sr.Samples = sortSamples(d.flat[first:len(d.flat):len(d.flat)])
	}
	if err := checkHistograms(sr.Histograms, index); err != nil {
		return err
	}
	if len(sr.Samples)+len(sr.Histograms)+len(sr.Exemplars) > 0 {
		sr.Labels = ls
		sortHistogramSamples(sr.Histograms)
		d.batch.Series = append(d.batch.Series, sr)
	}
	return nil
}

// extra decodes a histogram or an exemplar of a series with the generated
// code (they are rare next to float samples) into sr.
func (d *v1Decoder) extra(g wireField, sr *relay.Series) error {
	if g.num == fSeriesHistograms {
		var h prompb.Histogram
		if err := h.Unmarshal(d.body[g.lo:g.hi]); err != nil {
			return err
		}
		sr.Histograms = append(sr.Histograms, histogramV1(&h))
		d.stats.histograms++
		return nil
	}
	var e prompb.Exemplar
	if err := e.Unmarshal(d.body[g.lo:g.hi]); err != nil {
		return err
	}
	sr.Exemplars = append(sr.Exemplars, e.ToExemplar(&d.esb, nil))
	d.stats.exemplars++
	return nil
}

// Tags of the fields Prometheus writes, in the order it writes them.
const (
	tagLabelName       = fLabelName<<3 | byte(protowire.BytesType)
	tagLabelValue      = fLabelValue<<3 | byte(protowire.BytesType)
	tagSampleValue     = fSampleValue<<3 | byte(protowire.Fixed64Type)
	tagSampleTimestamp = fSampleTimestamp<<3 | byte(protowire.VarintType)
)

// bytesField reads, at body[p:end], a bytes field with one-byte tag tag
// and a one-byte length; ok is false when the bytes there are anything else.
func bytesField(body []byte, p, end int, tag byte) (lo, hi int, ok bool) {
	if p+2 > end || body[p] != tag || body[p+1] >= 0x80 {
		return 0, 0, false
	}
	lo, hi = p+2, p+2+int(body[p+1])
	return lo, hi, hi <= end
}

func (d *v1Decoder) label(f wireField) error {
	if err := wantType(f, protowire.BytesType, "TimeSeries"); err != nil {
		return err
	}
	// Most labels are a name and a value, in that order, each shorter
	// than 128 bytes: read them without the general field reader.
	var l span
	p := f.lo
	if lo, hi, ok := bytesField(d.body, p, f.hi, tagLabelName); ok {
		l.nlo, l.nhi, p = lo, hi, hi
	}
	if lo, hi, ok := bytesField(d.body, p, f.hi, tagLabelValue); ok {
		l.vlo, l.vhi, p = lo, hi, hi
	}
	if p == f.hi {
		d.ls = append(d.ls, l)
		return nil
	}
	l = span{}
	for p := f.lo; p < f.hi; {
		g, next, err := nextField(d.body, p, f.hi)
		if err != nil {
			return err
		}
		p = next
		switch g.num {
		case fLabelName, fLabelValue:
			if err := wantType(g, protowire.BytesType, "Label"); err != nil {
				return err
			}
			if g.num == fLabelName {
				l.nlo, l.nhi = g.lo, g.hi
			} else {
				l.vlo, l.vhi = g.lo, g.hi
			}
		}
	}
	d.ls = append(d.ls, l)
	return nil
}

func (d *v1Decoder) sample(f wireField) error {
	if err := wantType(f, protowire.BytesType, "TimeSeries"); err != nil {
		return err
	}
	// Most samples are a value and a timestamp, in that order.
	if b := d.body[f.lo:f.hi]; len(b) >= 10 && b[0] == tagSampleValue && b[9] == tagSampleTimestamp {
		if t, n := consumeVarint(b[10:]); n == len(b)-10 {
			d.flat = append(d.flat, relay.Sample{T: int64(t), V: math.Float64frombits(binary.LittleEndian.Uint64(b[1:9]))})
			return nil
		}
	}
	var s relay.Sample
	for p := f.lo; p < f.hi; {
		g, next, err := nextField(d.body, p, f.hi)
		if err != nil {
			return err
		}
		p = next
		switch g.num {
		case fSampleValue:
			if err := wantType(g, protowire.Fixed64Type, "Sample"); err != nil {
				return err
			}
			s.V = math.Float64frombits(g.v)
		case fSampleTimestamp:
			if err := wantType(g, protowire.VarintType, "Sample"); err != nil {
				return err
			}
			s.T = int64(g.v)
		}
	}
	d.flat = append(d.flat, s)
	return nil
}

func (d *v1Decoder) metadata(f wireField) error {
	if err := wantType(f, protowire.BytesType, "WriteRequest"); err != nil {
		return notProtobuf(err)
	}
	var (
		typ                int32
		family, help, unit string
	)
	for p := f.lo; p < f.hi; {
		g, next, err := nextField(d.body, p, f.hi)
		if err != nil {
			return notProtobuf(err)
		}
		p = next
		switch g.num {
		case fMetaType:
			if err := wantType(g, protowire.VarintType, "MetricMetadata"); err != nil {
				return notProtobuf(err)
			}
			typ = int32(g.v)
		case fMetaFamily, fMetaHelp, fMetaUnit:
			if err := wantType(g, protowire.BytesType, "MetricMetadata"); err != nil {
				return notProtobuf(err)
			}
			s := d.arena[g.lo:g.hi]
			switch g.num {
			case fMetaFamily:
				family = s
			case fMetaHelp:
				help = s
			default:
				unit = s
			}
		}
	}
	if family == "" {
		return nil
	}
	mtype := model.MetricTypeUnknown
	if name, ok := prompb.MetricMetadata_MetricType_name[typ]; ok && typ != 0 {
		mtype = model.MetricType(strings.ToLower(name))
	}
	if d.batch.Metadata == nil {
		d.batch.Metadata = make(map[string]relay.Metadata)
	}
	// Metadata strings are cloned: they may outlive the labels by far.
	d.batch.Metadata[strings.Clone(family)] = relay.Metadata{Type: string(mtype), Help: strings.Clone(help), Unit: strings.Clone(unit)}
	return nil
}
