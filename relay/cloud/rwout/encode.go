package rwout

import (
	"encoding/binary"
	"math"

	"github.com/golang/snappy"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// encoder turns a Delivery into queue records (record.go), each
// snappy-compressed (label sets repeat across blocks; compressed, the
// queue's disk writes shrink several times): each series,
// relabelled by write_relabel_configs, becomes one item holding its
// remote_write 1.0 TimeSeries already encoded as a WriteRequest field, so
// a request is the concatenation of its items. Its buffers are reused:
// in steady state, a float series without write_relabel_configs costs no
// allocation per sample. Not safe for concurrent use (Forwarder keeps a
// pool).
type encoder struct {
	f      *Forwarder
	ts     []byte   // one TimeSeries message
	rec    []byte   // the record being built
	recs   [][]byte // finished records, snappy-compressed
	counts []int    // samples of each record in recs
	n      recordCounts
	lb     *labels.Builder
	hdr    recordHeader
	hlen   int // header bytes of rec
}

// recordCounts sums a record's items.
type recordCounts struct{ samples int }

// maxRecordBytes is where a record is cut: a Delivery larger than this
// becomes several records, appended together in one call (or, when they
// exceed queue_max_bytes together, one by one). It is at most an eighth of
// queue_max_bytes.
const maxRecordBytes = 1 << 20

// encode returns the records of d (their Data reused by the next call).
func (e *encoder) encode(d *output.Delivery, meta []prompb.MetricMetadata) [][]byte {
	e.recs, e.counts = e.recs[:0], e.counts[:0]
	e.hdr = recordHeader{Tenant: d.Tenant, Site: d.Site, QueueID: d.QueueID, Seq: d.Seq}
	e.start()
	for _, b := range d.Batches {
		for i := range b.Series {
			e.series(&b.Series[i], b.Timestamp)
		}
	}
	for i := range meta {
		e.metadata(&meta[i])
	}
	e.finish(true)
	return e.recs
}

func (e *encoder) start() {
	e.rec = appendHeader(e.rec[:0], e.hdr)
	e.hlen = len(e.rec)
	e.hdr.Part++
	e.n = recordCounts{}
}

// finish closes the record being built: kept when it holds an item (or,
// with last, when it is the Delivery's only record, so the Delivery is
// remembered as queued).
func (e *encoder) finish(last bool) {
	if e.n.samples > 0 || len(e.rec) > e.hlen || (last && len(e.recs) == 0) {
		var z []byte
		if len(e.recs) < cap(e.recs) {
			z = e.recs[:len(e.recs)+1][len(e.recs)]
		}
		e.recs = append(e.recs, snappy.Encode(z[:cap(z)], e.rec))
		e.counts = append(e.counts, e.n.samples)
	}
}

// series adds one item for s, unless write_relabel_configs drop it or it
// carries nothing the config lets out.
func (e *encoder) series(s *relay.Series, batchTs int64) {
	ls := s.Labels
	if len(e.f.relabel) > 0 {
		e.lb.Reset(ls)
		if !relabel.ProcessBuilder(e.lb, e.f.relabel...) {
			return
		}
		ls = e.lb.Labels()
	}
	b := e.ts[:0]
	ls.Range(func(l labels.Label) {
		b = appendTag(b, 1, 2)
		b = appendVarint(b, uint64(2+varintLen(len(l.Name))+len(l.Name)+varintLen(len(l.Value))+len(l.Value)))
		b = appendString(b, 1, l.Name)
		b = appendString(b, 2, l.Value)
	})
	newest := int64(math.MinInt64)
	for _, smp := range s.Samples {
		b = appendTag(b, 2, 2)
		b = appendVarint(b, uint64(9+1+varintLen64(uint64(smp.T))))
		b = append(b, 1<<3|1)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(smp.V))
		b = append(b, 2<<3)
		b = appendVarint(b, uint64(smp.T))
		newest = max(newest, smp.T)
	}
	var hists, exemplars int
	b, hists, exemplars, newest = e.f.appendNative(b, s, batchTs, newest)
	if len(s.Samples)+hists+exemplars == 0 {
		e.ts = b
		return
	}
	e.ts = b
	e.item(itemHeader{Kind: kindSeries, Hash: uint32(ls.Hash()), Samples: len(s.Samples), Histograms: hists,
		Exemplars: exemplars, Newest: newest}, 1, e.ts)
}

// metadata adds one item for md.
func (e *encoder) metadata(md *prompb.MetricMetadata) {
	raw, err := md.Marshal()
	if err != nil {
		panic("BUG: marshal metric metadata: " + err.Error())
	}
	e.item(itemHeader{Kind: kindMetadata, Hash: fnv32(md.MetricFamilyName), Newest: math.MinInt64}, 3, raw)
}

// item appends one item whose WriteRequest field number is field.
func (e *encoder) item(h itemHeader, field int, msg []byte) {
	if len(e.rec) > e.f.recordBytes() {
		e.finish(false)
		e.start()
	}
	e.rec = appendItem(e.rec, h, field, msg)
	e.n.samples += h.Samples + h.Histograms + h.Exemplars
}

func appendTag(b []byte, field, wire int) []byte { return append(b, byte(field<<3|wire)) }

func appendString(b []byte, field int, s string) []byte {
	b = appendTag(b, field, 2)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func varintLen(n int) int { return varintLen64(uint64(n)) }

func varintLen64(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendMessage appends field as a length-delimited message m.
func appendMessage(b []byte, field int, m []byte) []byte {
	b = appendTag(b, field, 2)
	b = appendVarint(b, uint64(len(m)))
	return append(b, m...)
}

// fnv32 is FNV-1a of s.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// recordBytes is where this output cuts records.
func (f *Forwarder) recordBytes() int {
	if f.maxQ > 0 {
		return int(min(maxRecordBytes, f.maxQ/8))
	}
	return maxRecordBytes
}
